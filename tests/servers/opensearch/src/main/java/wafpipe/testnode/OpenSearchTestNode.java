package wafpipe.testnode;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.BindException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A single OpenSearch node for wafpipe's tests, started in this JVM without the Bootstrap
 * (no security manager, no jar-hell or bootstrap checks, runs as root).
 *
 * <pre>
 * java -Xmx512m -cp target/classes:target/lib/* wafpipe.testnode.OpenSearchTestNode \
 *     --dir DIR [--http-port N] [--transport-port N] [--cluster-name NAME] [--node-name NAME] \
 *     [--processors N] [--default-replicas N] [--no-stdin-watch] [-E key=value]...
 * </pre>
 *
 * <p>DIR holds {@code home/}, {@code data/} and {@code logs/}; start again with the same DIR to keep
 * the data. Once the node is up, one line goes to stdout:
 * {@code WAFPIPE_OPENSEARCH_HTTP=127.0.0.1:PORT}. Everything else (logs) goes to stderr. The node
 * stops on SIGTERM/SIGINT, or when stdin reaches end of file (so it dies with the process that
 * started it) unless {@code --no-stdin-watch} is given.
 *
 * <p>Exit codes: 0 stopped normally, 2 bad command line, 3 a port could not be bound (the caller may
 * retry with another port), 1 any other start-up failure.
 *
 * <p>This class deliberately touches no OpenSearch or log4j class before {@link #main} has set the
 * system properties those libraries read in their static initialisers; the OpenSearch work is in
 * {@link Launcher}.
 */
public final class OpenSearchTestNode {

    static final String READY_PREFIX = "WAFPIPE_OPENSEARCH_HTTP=";
    static final String ERROR_PREFIX = "WAFPIPE_OPENSEARCH_ERROR=";

    static final int EXIT_USAGE = 2;
    static final int EXIT_BIND = 3;
    static final int EXIT_FAILED = 1;

    private OpenSearchTestNode() {}

    /** Parsed command line. */
    static final class Options {
        Path dir;
        String httpPort = "0";
        String transportPort = "0";
        String clusterName = "wafpipe-test";
        String nodeName = "wafpipe-test-node";
        int processors = Math.min(2, Runtime.getRuntime().availableProcessors());
        boolean watchStdin = true;
        int defaultReplicas = 0;
        final Map<String, String> extra = new LinkedHashMap<>();
    }

    static Options parse(String[] args) {
        Options o = new Options();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--dir" -> o.dir = Paths.get(value(args, ++i, a)).toAbsolutePath();
                case "--http-port" -> o.httpPort = port(value(args, ++i, a), a);
                case "--transport-port" -> o.transportPort = port(value(args, ++i, a), a);
                case "--cluster-name" -> o.clusterName = value(args, ++i, a);
                case "--node-name" -> o.nodeName = value(args, ++i, a);
                case "--processors" -> o.processors = Integer.parseInt(value(args, ++i, a));
                case "--no-stdin-watch" -> o.watchStdin = false;
                case "--default-replicas" -> o.defaultReplicas = Integer.parseInt(value(args, ++i, a));
                case "-E" -> setting(o, value(args, ++i, a));
                default -> {
                    if (a.startsWith("-E") && a.length() > 2) {
                        setting(o, a.substring(2));
                    } else {
                        throw new IllegalArgumentException("unknown argument: " + a);
                    }
                }
            }
        }
        if (o.dir == null) {
            throw new IllegalArgumentException("--dir DIR is required");
        }
        if (o.processors < 1) {
            throw new IllegalArgumentException("--processors must be >= 1");
        }
        return o;
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return args[i];
    }

    private static String port(String v, String flag) {
        int p = Integer.parseInt(v);
        if (p < 0 || p > 65535) {
            throw new IllegalArgumentException(flag + " out of range: " + v);
        }
        return Integer.toString(p);
    }

    private static void setting(Options o, String kv) {
        int eq = kv.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException("-E expects key=value, got: " + kv);
        }
        o.extra.put(kv.substring(0, eq), kv.substring(eq + 1));
    }

    /** System properties the libraries read once, at class-initialisation time. */
    private static void systemDefaults() {
        Map<String, String> props = new LinkedHashMap<>();
        // Netty's processor count is process-global; OpenSearch would otherwise try to set it.
        props.put("opensearch.set.netty.runtime.available.processors", "false");
        props.put("io.netty.noUnsafe", "true");
        props.put("io.netty.noKeySetOptimization", "true");
        props.put("io.netty.recycler.maxCapacityPerThread", "0");
        props.put("io.netty.allocator.numDirectArenas", "0");
        props.put("log4j2.disable.jmx", "true");
        props.put("log4j.shutdownHookEnabled", "false");
        props.put("log4j2.statusLoggerLevel", "ERROR");
        props.put("log4j.configurationFile", "classpath:wafpipe-opensearch-log4j2.properties");
        props.put("jna.nosys", "true");
        props.put("java.awt.headless", "true");
        for (Map.Entry<String, String> e : props.entrySet()) {
            if (System.getProperty(e.getKey()) == null) {
                System.setProperty(e.getKey(), e.getValue());
            }
        }
    }

    public static void main(String[] args) {
        // stdout carries only the ready line: keep a handle on it and send everything else to stderr.
        PrintStream protocol = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        System.setOut(System.err);
        Options options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("OpenSearchTestNode: " + e.getMessage());
            System.exit(EXIT_USAGE);
            return;
        }
        systemDefaults();
        System.exit(Launcher.run(options, protocol));
    }

    /** Does the cause chain of {@code t} contain a failed bind? */
    static boolean isBindFailure(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof BindException) {
                return true;
            }
            String name = c.getClass().getSimpleName();
            if (name.equals("BindHttpException") || name.equals("BindTransportException")) {
                return true;
            }
        }
        return false;
    }

    /** Block until stdin reaches end of file (or fails). */
    static void awaitStdinClosed(InputStream in) {
        byte[] buf = new byte[256];
        try {
            while (in.read(buf) >= 0) {
                // input is ignored; only its end matters
            }
        } catch (IOException e) {
            // a broken pipe is an end as well
        }
    }

    /** Everything that loads OpenSearch classes. */
    static final class Launcher {
        private Launcher() {}

        static int run(Options o, PrintStream protocol) {
            Path home = o.dir.resolve("home");
            Path data = o.dir.resolve("data");
            Path logs = o.dir.resolve("logs");
            try {
                Files.createDirectories(home.resolve("config"));
                Files.createDirectories(home.resolve("plugins"));
                Files.createDirectories(home.resolve("modules"));
                Files.createDirectories(data);
                Files.createDirectories(logs);
            } catch (IOException e) {
                System.err.println("OpenSearchTestNode: cannot create " + o.dir + ": " + e);
                return EXIT_FAILED;
            }

            org.opensearch.common.settings.Settings.Builder b = org.opensearch.common.settings.Settings.builder()
                .put("cluster.name", o.clusterName)
                .put("node.name", o.nodeName)
                .put("path.home", home.toString())
                .put("path.data", data.toString())
                .put("path.logs", logs.toString())
                .put("discovery.type", "single-node")
                .put("network.host", "127.0.0.1")
                .put("http.port", o.httpPort)
                .put("transport.port", o.transportPort)
                .put("http.type", "netty4")
                .put("transport.type", "netty4")
                // a busy or nearly full disk must not turn indices read-only under the tests
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                // two busy cores: size every pool from two processors and keep the big ones small
                .put("node.processors", o.processors)
                .put("thread_pool.search.size", Math.max(1, o.processors))
                .put("thread_pool.write.size", Math.max(1, o.processors))
                .put("thread_pool.get.size", Math.max(1, o.processors))
                .put("thread_pool.management.max", 2)
                .put("thread_pool.generic.max", 16)
                .put("bootstrap.memory_lock", false);
            for (Map.Entry<String, String> e : o.extra.entrySet()) {
                b.put(e.getKey(), e.getValue());
            }
            org.opensearch.common.settings.Settings settings = b.build();

            List<Class<? extends org.opensearch.plugins.Plugin>> plugins = new ArrayList<>();
            plugins.add(org.opensearch.transport.Netty4Plugin.class);
            plugins.add(org.opensearch.analysis.common.CommonAnalysisPlugin.class);
            plugins.add(org.opensearch.painless.PainlessPlugin.class);

            final TestNode node;
            try {
                org.opensearch.env.Environment env = org.opensearch.node.InternalSettingsPreparer.prepareEnvironment(
                    settings, Map.of(), home.resolve("config"), () -> o.nodeName);
                node = new TestNode(env, plugins);
            } catch (Throwable t) {
                return failed("construct", t, protocol);
            }

            AtomicBoolean closed = new AtomicBoolean(false);
            CountDownLatch done = new CountDownLatch(1);
            Runnable close = () -> {
                if (closed.compareAndSet(false, true)) {
                    try {
                        node.close();
                        node.awaitClose(30, TimeUnit.SECONDS);
                    } catch (Throwable t) {
                        System.err.println("OpenSearchTestNode: error while closing: " + t);
                    } finally {
                        done.countDown();
                    }
                }
            };
            Thread hook = new Thread(close, "wafpipe-opensearch-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);

            String address;
            try {
                node.start();
                org.opensearch.http.HttpServerTransport http =
                    node.injector().getInstance(org.opensearch.http.HttpServerTransport.class);
                org.opensearch.core.common.transport.TransportAddress bound = http.boundAddress().publishAddress();
                address = bound.getAddress() + ":" + bound.getPort();
                // One node: a replica could never be assigned. cluster.default_number_of_replicas is
                // read from the cluster state's settings (not from node settings), so it is set as a
                // persistent cluster setting; indices and data-stream backing indices then get none
                // unless a template or request asks for some, and health turns green.
                node.client().admin().cluster().prepareUpdateSettings()
                    .setPersistentSettings(org.opensearch.common.settings.Settings.builder()
                        .put("cluster.default_number_of_replicas", o.defaultReplicas))
                    .get(org.opensearch.common.unit.TimeValue.timeValueMinutes(2));
            } catch (Throwable t) {
                int code = failed("start", t, protocol);
                close.run();
                return code;
            }
            protocol.println(READY_PREFIX + address);
            protocol.flush();

            if (o.watchStdin) {
                awaitStdinClosed(System.in);
                close.run();
                return 0;
            }
            try {
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 0;
        }

        private static int failed(String stage, Throwable t, PrintStream protocol) {
            boolean bind = isBindFailure(t);
            System.err.println("OpenSearchTestNode: " + stage + " failed: " + t);
            t.printStackTrace(System.err);
            // a one-line reason on stdout too, so the caller can tell a taken port from anything else
            String reason = (bind ? "bind " : "start ") + String.valueOf(t).replace('\n', ' ');
            protocol.println(ERROR_PREFIX + reason);
            protocol.flush();
            return bind ? EXIT_BIND : EXIT_FAILED;
        }
    }

    /** {@link org.opensearch.node.Node}'s plugin-taking constructor is protected: expose it. */
    static final class TestNode extends org.opensearch.node.Node {
        TestNode(org.opensearch.env.Environment env,
                 Collection<Class<? extends org.opensearch.plugins.Plugin>> classpathPlugins) {
            super(env, classpathPlugins, true);
        }
    }
}
