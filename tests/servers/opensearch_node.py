"""A real single-node OpenSearch 2.19 for the tests (DESIGN §5, §8).

The node is the Java launcher in ``tests/servers/opensearch`` (built by ``make opensearch-node``),
run as a child process in its own process group on 127.0.0.1 with random ports and a data directory
of its own. Synchronisation is by what the node says, never by sleeping: the launcher prints
``WAFPIPE_OPENSEARCH_HTTP=127.0.0.1:PORT`` once HTTP is bound, then ``/_cluster/health`` is asked to
wait for green on the server side.

Readiness is health yellow: every primary shard is active, so every document is there. On one node a
replica can never be assigned; the launcher makes the persistent cluster setting
``cluster.default_number_of_replicas`` 0, so indices and data-stream backing indices get no replica
and health is green as well, unless a template or request asks for replicas (wafpipe's templates
don't). Waiting for green would hang a restart whenever a test created such an index, which is why
``start()`` waits for yellow unless ``ready_status="green"`` is given.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

NODE_PROJECT = Path(__file__).resolve().parent / "opensearch"
MAIN_CLASS = "wafpipe.testnode.OpenSearchTestNode"
READY_PREFIX = "WAFPIPE_OPENSEARCH_HTTP="
ERROR_PREFIX = "WAFPIPE_OPENSEARCH_ERROR="
EXIT_BIND = 3

# Generous: CI may run the suite with both cores busy (DESIGN §8). A node starts in ~5 s idle.
DEFAULT_START_TIMEOUT_S = 180.0
DEFAULT_STOP_TIMEOUT_S = 60.0

# JVM flags: a small heap (DESIGN: ≤ 512 MB for the tests; the benchmark asks for more) and few
# GC/compiler threads for two busy cores.
DEFAULT_HEAP = "512m"
JVM_FLAGS: tuple[str, ...] = (
    "-XX:+UseSerialGC",
    "-XX:CICompilerCount=2",
    "-XX:-UsePerfData",
    "-Xss1m",
    "-Djava.awt.headless=true",
    "-Dfile.encoding=UTF-8",
    "-Dlog4j2.disable.jmx=true",
    "-Dlog4j.shutdownHookEnabled=false",
    "-Dopensearch.set.netty.runtime.available.processors=false",
)


class OpenSearchNodeError(RuntimeError):
    """The node could not be started, or stopped, or answered with an error."""


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise OpenSearchNodeError("no java found (JAVA_HOME or PATH); OpenSearch 2.19 needs Java 17")
    return found


def built() -> bool:
    """Has ``make opensearch-node`` built the launcher?"""
    target = NODE_PROJECT / "target"
    return (target / "classes" / "wafpipe" / "testnode" / "OpenSearchTestNode.class").is_file() and any(
        (target / "lib").glob("opensearch-2.19.*.jar")
    )


class OpenSearchNode:
    """One OpenSearch node process.

    ``start()`` blocks until the cluster is yellow or better (or raises :class:`OpenSearchNodeError` with the tail
    of the node's log). ``restart()`` keeps the data directory and, when it is still free, the port;
    read ``url``/``port`` again afterwards. Use as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        base_dir: Path | str | None = None,
        *,
        http_port: int = 0,
        settings: Mapping[str, str | int | float | bool] | None = None,
        start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
        cluster_name: str = "wafpipe-test",
        processors: int = 2,
        ready_status: str = "yellow",
        heap: str = DEFAULT_HEAP,
    ) -> None:
        self._owns_dir = base_dir is None
        self.base_dir = (
            Path(base_dir) if base_dir is not None else Path(tempfile.mkdtemp(prefix="wafpipe-os-"))
        )
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.requested_port = http_port
        self.static_settings: dict[str, str] = {k: _setting_value(v) for k, v in (settings or {}).items()}
        self.start_timeout_s = start_timeout_s
        self.cluster_name = cluster_name
        self.processors = processors
        if ready_status not in ("yellow", "green"):
            raise ValueError(f"ready_status must be yellow or green, not {ready_status!r}")
        self.ready_status = ready_status
        self.heap = heap
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader: threading.Thread | None = None
        self._stderr: IO[bytes] | None = None
        self._host: str | None = None
        self._port: int | None = None
        self.starts = 0
        self.last_start_s: float | None = None
        self.port_changed_on_restart = False

    # -- addresses -----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def port(self) -> int:
        if self._port is None:
            raise OpenSearchNodeError("the node has not been started")
        return self._port

    @property
    def host(self) -> str:
        if self._host is None:
            raise OpenSearchNodeError("the node has not been started")
        return self._host

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def log_path(self) -> Path:
        return self.base_dir / "logs" / "node.stderr.log"

    def client(self, **kwargs: Any) -> Any:
        """An ``opensearchpy.OpenSearch`` client for this node (keyword arguments are passed on)."""
        from opensearchpy import OpenSearch

        kwargs.setdefault("timeout", 60)
        return OpenSearch(hosts=[self.url], **kwargs)

    # -- life cycle ----------------------------------------------------------------------------------

    def command(self, http_port: int) -> list[str]:
        target = NODE_PROJECT / "target"
        classpath = f"{target / 'classes'}{os.pathsep}{target / 'lib'}{os.sep}*"
        cmd = [
            _java(),
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            *JVM_FLAGS,
            "-cp",
            classpath,
            MAIN_CLASS,
            "--dir",
            str(self.base_dir),
            "--http-port",
            str(http_port),
            "--cluster-name",
            self.cluster_name,
            "--processors",
            str(self.processors),
        ]
        for key, value in self.static_settings.items():
            cmd += ["-E", f"{key}={value}"]
        return cmd

    def start(self) -> OpenSearchNode:
        if self.running:
            raise OpenSearchNodeError(f"the node is already running at {self.url}")
        if not built():
            raise OpenSearchNodeError(
                f"the OpenSearch test node is not built ({NODE_PROJECT / 'target'} is missing or incomplete): "
                "run `make opensearch-node` (Java 17 and Maven needed)"
            )
        restarting = self.starts > 0 and self._port is not None
        port = self._port if restarting and self._port is not None else self.requested_port
        began = time.monotonic()
        deadline = began + self.start_timeout_s
        self.port_changed_on_restart = False
        try:
            self._launch(port, deadline)
        except _BindFailed:
            if not restarting or port == 0:
                raise OpenSearchNodeError(
                    f"the node could not bind HTTP port {port}\n{self._log_tail()}"
                ) from None
            # the old port was taken in the meantime: any free one will do (read .url again)
            self._launch(0, deadline)
            self.port_changed_on_restart = True
        self._wait_ready(deadline)
        self.starts += 1
        self.last_start_s = time.monotonic() - began
        return self

    def _launch(self, port: int, deadline: float) -> None:
        (self.base_dir / "logs").mkdir(parents=True, exist_ok=True)
        self._stderr = open(self.log_path, "ab")  # noqa: SIM115 - closed in _reap
        self._stderr.write(f"\n=== wafpipe: start with http port {port} ===\n".encode())
        self._stderr.flush()
        self._lines = queue.Queue()
        self._proc = subprocess.Popen(
            self.command(port),
            stdin=subprocess.PIPE,  # kept open: the node exits when this pipe closes (we die)
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            start_new_session=True,  # own process group: stop() signals the whole group
            cwd=self.base_dir,
        )
        assert self._proc.stdout is not None
        self._reader = threading.Thread(
            target=_pump, args=(self._proc.stdout, self._lines), name="opensearch-node-stdout", daemon=True
        )
        self._reader.start()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._kill()
                raise OpenSearchNodeError(
                    f"the node printed no {READY_PREFIX} line within {self.start_timeout_s:.0f} s\n{self._log_tail()}"
                )
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:  # stdout closed: the process ended
                code = self._reap(timeout=DEFAULT_STOP_TIMEOUT_S)
                if code == EXIT_BIND:
                    raise _BindFailed()
                raise OpenSearchNodeError(
                    f"the node exited with code {code} during start-up\n{self._log_tail()}"
                )
            if line.startswith(ERROR_PREFIX):
                continue  # the exit code tells the kind; the log has the details
            if line.startswith(READY_PREFIX):
                host, _, port_text = line[len(READY_PREFIX) :].strip().rpartition(":")
                self._host = host.strip("[]")
                self._port = int(port_text)
                return

    def _wait_ready(self, deadline: float) -> None:
        last: str = "no answer"
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 1:
                self._kill()
                raise OpenSearchNodeError(
                    f"cluster not {self.ready_status} in time (last: {last})\n{self._log_tail()}"
                )
            if not self.running:
                raise OpenSearchNodeError(f"the node exited while starting\n{self._log_tail()}")
            wait_s = max(1, min(30, int(remaining) - 1))
            try:
                status, body = self._http(
                    "GET",
                    f"/_cluster/health?wait_for_status={self.ready_status}&timeout={wait_s}s",
                    timeout=wait_s + 10,
                )
            except OSError as exc:  # connection refused/reset while the node settles
                last = repr(exc)
                self._pace(min(1.0, remaining))
                continue
            last = f"HTTP {status}: {body!r}"
            if status == 200 and not body.get("timed_out"):
                return

    def _pace(self, timeout: float) -> None:
        """Pace a retry by waiting for the process to end, so that a crash is noticed at once."""
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=timeout)

    def stop(self, timeout_s: float = DEFAULT_STOP_TIMEOUT_S) -> int | None:
        """SIGTERM the node's process group and wait; SIGKILL the group if it outlives ``timeout_s``."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            _signal_group(self._proc.pid, signal.SIGTERM)
        return self._reap(timeout=timeout_s)

    def kill(self) -> int | None:
        """SIGKILL the node's process group at once (a crash, for fault tests)."""
        return self._kill()

    def restart(self, timeout_s: float = DEFAULT_STOP_TIMEOUT_S) -> OpenSearchNode:
        """Stop, then start again on the same data directory and, if still free, the same port."""
        self.stop(timeout_s)
        return self.start()

    def close(self) -> None:
        self.stop()
        if self._owns_dir:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> OpenSearchNode:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- cluster settings and plain HTTP ---------------------------------------------------------------

    def settings(self, *, transient: bool = False, **kwargs: Any) -> dict[str, Any]:
        """PUT cluster settings. Keyword names use ``__`` for dots: ``settings(cluster__blocks__read_only=True)``;
        a value of None resets the setting. Returns the node's answer."""
        values = {key.replace("__", "."): value for key, value in kwargs.items()}
        scope = "transient" if transient else "persistent"
        status, body = self._http("PUT", "/_cluster/settings", {scope: values})
        if status != 200:
            raise OpenSearchNodeError(f"PUT _cluster/settings answered {status}: {body}")
        return body

    def _http(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, timeout: float = 60
    ) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                return err.code, json.loads(raw or b"{}")
            except ValueError:
                return err.code, {"raw": raw.decode(errors="replace")}

    # -- internals -----------------------------------------------------------------------------------

    def _kill(self) -> int | None:
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            _signal_group(self._proc.pid, signal.SIGKILL)
        return self._reap(timeout=DEFAULT_STOP_TIMEOUT_S)

    def _reap(self, timeout: float) -> int | None:
        proc = self._proc
        if proc is None:
            return None
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            code = proc.wait(timeout=DEFAULT_STOP_TIMEOUT_S)
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        self._proc = None
        return code

    def _log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return f"(no log at {self.log_path})"
        return f"--- last lines of {self.log_path} ---\n" + "\n".join(text[-lines:])


class _BindFailed(Exception):
    pass


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    try:
        for line in stream:
            lines.put(line.rstrip("\n"))
    except (OSError, ValueError):
        pass
    finally:
        lines.put(None)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # start_new_session=True: the process group id is the JVM's pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _setting_value(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
