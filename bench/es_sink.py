"""Benchmark: the ``opensearch`` sink against the real OpenSearch 2.19.6 test node, beside a bare
``_bulk`` client sending the same bytes in the same run (issue 21's speed target: the sink reaches
at least 80 % of the bare client's events/s).

Set-up, before any clock starts: a node of its own (``tests/servers/opensearch``, built by
``make opensearch-node``), ``wafpipe elastic setup`` for it, and ``--events`` events as the
collector hands them to a sink: Batches decoded by the native core from generated files of all
three formats (a pool of distinct events, cycled with fresh ids to reach ``--events``).

Phases, each into a data stream of its own, in the order bare, sink, sink, bare (so the node's
warm-up, and the merges one phase leaves behind, fall on both sides alike), after a warm-up load:

* **bare**: the ``_bulk`` bodies the sink would send, built before the clock, posted by
  ``--senders`` threads with one keep-alive ``httpx`` client each; the answer is parsed and its
  ``errors`` flag checked. This is what the node can take from a client that does nothing else.
* **sink**: ``ClusterSink.write()`` of every Batch (framing, the fsynced spool), then ``flush()``
  until the node acknowledged everything (the senders read the spool, post, and check every item).

Figures: wall events/s of each phase (the mean of its two runs), the ratio sink/bare, and the sink's
events per CPU-second of this process (every thread; the node is another process).

    .venv/bin/python bench/es_sink.py                     # 1 M events
    .venv/bin/python bench/es_sink.py --events 200000 --senders 2 --bulk 2000
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers.opensearch_node import OpenSearchNode  # noqa: E402

from wafpipe.collector.state import State  # noqa: E402
from wafpipe.config.root import Config, config_from_dict  # noqa: E402
from wafpipe.decode.reader import read_path  # noqa: E402
from wafpipe.model import Batch, Context  # noqa: E402
from wafpipe.sinks.elasticsearch.setup import run_setup  # noqa: E402
from wafpipe.sinks.elasticsearch.sink import build_cluster_sink  # noqa: E402
from wafpipe.tools.generate import generate_files  # noqa: E402

FORMATS = ("cef", "leef", "w3c")
HANG_GUARD_S = 3600.0


def batch_pool(size: int, rows: int, tmp: Path) -> list[Batch]:
    """``size`` distinct events as the native core's Batches of ``rows`` events (documents included)."""
    pool: list[Batch] = []
    for i, fmt in enumerate(FORMATS):
        for path in generate_files(tmp / fmt, events=max(1, size // len(FORMATS)), files=4, fmt=fmt,
                                   compression="zlib", attack_ratio=0.3, start=datetime(2024, 6, 1, tzinfo=UTC),
                                   end=datetime(2024, 6, 1, 6, tzinfo=UTC), seed=11 + i):
            pool.extend(b for b in read_path(path, batch_rows=rows).batches() if len(b))
    return pool


def workload(pool: list[Batch], total: int) -> list[Batch]:
    """``total`` events: the pool's Batches again and again, ids suffixed per pass so each is new."""
    out: list[Batch] = []
    count, lap = 0, 0
    while count < total:
        for b in pool:
            take = min(len(b), total - count)
            ids = [f"{i}.{lap}" for i in b.ids[:take]]
            events = b.events.slice(0, take).set_column(0, "_id", pa.array(ids, pa.string()))
            assert b.documents is not None
            out.append(Batch(b.file_key, events, b.documents[:take]))
            count += take
            if count == total:
                break
        lap += 1
    return out


def config(root: Path, node: OpenSearchNode, namespace: str, bulk: int) -> Config:
    entry = {"type": "opensearch", "hosts": [node.url], "namespace": namespace, "use_data_stream": True,
             "batch_size": bulk, "timeout_s": 120.0, "spool_max_bytes": 8 << 30}
    return config_from_dict({"data_dir": str(root / namespace), "sinks": [entry]}, file=None, base_dir=root)


def bulk_bodies(work: list[Batch], namespace: str, bulk: int) -> list[bytes]:
    """The ``_bulk`` bodies the sink sends for ``work`` into ``namespace``: the same action line and
    source bytes (the document with ``data_stream`` spliced before its closing brace)."""
    action = b'{"create":{"_index":"logs-imperva.waf-' + namespace.encode() + b'","_id":'
    suffix = b',"data_stream":' + orjson.dumps({"type": "logs", "dataset": "imperva.waf",
                                                "namespace": namespace}) + b"}\n"
    records = [action + orjson.dumps(event_id) + b"}}\n" + doc[:-1] + suffix
               for b in work for event_id, doc in zip(b.ids, b.documents or [], strict=True)]
    return [b"".join(records[i : i + bulk]) for i in range(0, len(records), bulk)]


@dataclass
class Phase:
    name: str
    events: int
    wall_s: float
    cpu_s: float

    @property
    def rate(self) -> float:
        return self.events / self.wall_s


def bare(node: OpenSearchNode, bodies: list[bytes], senders: int, events: int, name: str) -> Phase:
    queue = list(reversed(bodies))
    lock = threading.Lock()
    failures: list[str] = []

    def send() -> None:
        with httpx.Client(base_url=node.url, timeout=120) as http:
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                r = http.post("/_bulk", content=body, headers={"content-type": "application/x-ndjson"})
                if r.status_code != 200 or orjson.loads(r.content)["errors"]:
                    failures.append(r.text[:300])

    threads = [threading.Thread(target=send) for _ in range(senders)]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phase = Phase(name, events, time.perf_counter() - wall0, time.process_time() - cpu0)
    if failures:
        raise SystemExit(f"the bare client's bulk requests failed: {failures[:3]}")
    return phase


def sink(cfg: Config, work: list[Batch], senders: int, name: str) -> Phase:
    state = State(cfg.data_dir)
    built = build_cluster_sink(cfg.sinks[0], Context(cfg.data_dir, state=state))  # type: ignore[arg-type]
    built.opt.senders = senders
    events = sum(len(b) for b in work)
    try:
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for b in work:
            built.write(b)
        if not built.flush(HANG_GUARD_S):
            raise SystemExit(f"the sink did not drain: {built.stats}")
        phase = Phase(name, events, time.perf_counter() - wall0, time.process_time() - cpu0)
        stats = built.stats
        if (stats.written, stats.dead_lettered) != (events, 0):
            raise SystemExit(f"the sink delivered {stats.written} of {events} ({stats.dead_lettered} dead letters)")
    finally:
        built.close()
        state.close()
    return phase


def stored(node: OpenSearchNode, namespace: str) -> int:
    client = node.client(timeout=600)
    stream = f"logs-imperva.waf-{namespace}"
    client.indices.refresh(index=stream)
    return int(client.count(index=stream)["count"])


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000, help="events per phase")
    ap.add_argument("--pool", type=int, default=120_000, help="distinct generated events to cycle through")
    ap.add_argument("--rows", type=int, default=10_000, help="events per Batch (the collector's batch_size)")
    ap.add_argument("--bulk", type=int, default=1000, help="documents per _bulk request (the sink's batch_size)")
    ap.add_argument("--senders", type=int, default=2, help="bulk requests in flight, for both clients")
    ap.add_argument("--heap", default="2g", help="the node's Java heap (the tests use 512m)")
    ap.add_argument("--warmup", type=int, default=100_000, help="events sent before the measured phases")
    opts = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="wafpipe-bench-es-") as tmpdir:
        tmp = Path(tmpdir)
        # the test node runs the serial GC, under which the default real-memory circuit breaker trips
        # on garbage not yet collected (429s after ~2 M documents); count what requests reserve instead
        settings = {"http.max_content_length": "200mb", "indices.breaker.total.use_real_memory": "false"}
        node = OpenSearchNode(tmp / "node", settings=settings, heap=opts.heap).start()
        try:
            setup_out = io.StringIO()
            if run_setup(config(tmp, node, "setup", opts.bulk), dry_run=False, out=setup_out) != 0:
                raise SystemExit(setup_out.getvalue())
            t = time.perf_counter()
            pool = batch_pool(min(opts.pool, opts.events), opts.rows, tmp / "gen")
            work = workload(pool, opts.events)
            bodies = {ns: bulk_bodies(work, ns, opts.bulk) for ns in ("bare1", "bare2")}
            warm = bulk_bodies(workload(pool, min(opts.warmup, opts.events)), "warmup", opts.bulk)
            print(f"prepared {opts.events:,} events ({sum(len(b) for b in pool):,} distinct) in "
                  f"{time.perf_counter() - t:.1f} s; {len(bodies['bare1'])} bulk bodies of {opts.bulk}")
            bare(node, warm, opts.senders, opts.warmup, "warm-up")

            runs: list[tuple[str, Callable[[], Phase]]] = [
                ("bare1", lambda: bare(node, bodies["bare1"], opts.senders, opts.events, "bare")),
                ("sink1", lambda: sink(config(tmp, node, "sink1", opts.bulk), work, opts.senders, "sink")),
                ("sink2", lambda: sink(config(tmp, node, "sink2", opts.bulk), work, opts.senders, "sink")),
                ("bare2", lambda: bare(node, bodies["bare2"], opts.senders, opts.events, "bare")),
            ]
            phases: list[Phase] = []
            for namespace, run in runs:
                phase = run()
                count = stored(node, namespace)
                if count != opts.events:
                    raise SystemExit(f"{namespace}: the node holds {count:,} documents, not {opts.events:,}")
                print(f"{namespace:6} {phase.rate:>10,.0f} events/s wall ({phase.wall_s:.1f} s), "
                      f"this process {phase.cpu_s:.1f} CPU-s; the node holds {count:,}")
                phases.append(phase)
        finally:
            node.stop()

    def mean_rate(name: str) -> float:
        chosen = [p for p in phases if p.name == name]
        return sum(p.events for p in chosen) / sum(p.wall_s for p in chosen)

    sink_phases = [p for p in phases if p.name == "sink"]
    bare_rate, sink_rate = mean_rate("bare"), mean_rate("sink")
    sink_cpu = sum(p.cpu_s for p in sink_phases)
    print(f"bare client: {bare_rate:,.0f} events/s")
    print(f"sink:        {sink_rate:,.0f} events/s = {sink_rate / bare_rate:.0%} of the bare client (target ≥ 80 %)")
    print(f"sink CPU:    {sum(p.events for p in sink_phases) / sink_cpu:,.0f} events per CPU-second of this process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
