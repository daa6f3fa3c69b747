"""Benchmark: the Elasticsearch sink's own throughput (serialise → spool → _bulk → parse answers).

The test Elasticsearch server runs in ANOTHER process (``python -m tests.servers.elasticsearch``,
mapping checks off) so its work is not charged to the sink. Events are generated once, before the
clock starts (a pool of real generated events, re-used with fresh ids to reach ``--events``), so the
measured part is the sink alone: ``write()`` of every batch, then ``flush()`` until the cluster has
acknowledged everything.

By default the documents are serialised by the sink (``Event.json`` unset); ``--prepared`` gives
the events their JSON first, as the decode workers do in the collector, which leaves the sink only
the framing, the spool and the HTTP work.

Two figures: wall-clock events/s, and events per CPU-second of this process (all its threads), which
is the "on one core" number: what one core spends per event on the sink side.

    .venv/bin/python bench/es_sink.py                  # 1 M events
    .venv/bin/python bench/es_sink.py --events 200000 --senders 2 --batch 5000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers.elasticsearch import ElasticsearchProcess  # noqa: E402

from wafpipe.decode.reader import read_path  # noqa: E402
from wafpipe.model import Event  # noqa: E402
from wafpipe.sinks.elasticsearch.client import ElasticsearchClient  # noqa: E402
from wafpipe.sinks.elasticsearch.sink import ClusterSink, NamespaceRouter, SinkOptions  # noqa: E402
from wafpipe.tools.generate import generate_files  # noqa: E402


def event_pool(size: int, tmp: Path) -> list[Event]:
    """``size`` real events: generated in three formats and decoded, as the collector would."""
    events: list[Event] = []
    for i, fmt in enumerate(("cef", "leef", "w3c")):
        out = tmp / fmt
        for path in generate_files(out, events=max(1, size // 3), files=2, fmt=fmt, compression="zlib",
                                   attack_ratio=0.3, start=datetime(2024, 6, 1, tzinfo=UTC),
                                   end=datetime(2024, 6, 1, 6, tzinfo=UTC), seed=11 + i):
            events.extend(e for e in read_path(path).items() if isinstance(e, Event))
    return events


def batches(pool: list[Event], total: int, size: int, prepared: bool = False) -> list[list[Event]]:
    """``total`` events in batches, ids made unique per pass over the pool. ``prepared``: events
    carry their JSON, as they do when decode workers hand them to the collector."""
    out: list[list[Event]] = []
    batch: list[Event] = []
    if prepared:
        for e in pool:
            e.prepare()
    for n in range(total):
        src = pool[n % len(pool)]
        batch.append(Event(f"{src.id}.{n // len(pool)}", src.doc, src.json if prepared else None))
        if len(batch) == size:
            out.append(batch)
            batch = []
    if batch:
        out.append(batch)
    return out


def count(url: str, target: str) -> int:
    """Documents behind ``target`` (``_count`` after a refresh; the admin stats endpoint decodes
    every stored document, which takes too long at this size)."""
    import httpx

    httpx.post(f"{url}/{target}/_refresh", timeout=600).raise_for_status()
    resp = httpx.get(f"{url}/{target}/_count", timeout=600)
    resp.raise_for_status()
    return int(resp.json()["count"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--pool", type=int, default=60_000, help="distinct generated events to cycle through")
    ap.add_argument("--batch", type=int, default=5000, help="events per write() (the pipeline's batch)")
    ap.add_argument("--bulk", type=int, default=2000, help="documents per _bulk request")
    ap.add_argument("--senders", type=int, default=2)
    ap.add_argument("--no-fsync", action="store_true", help="skip fsync (measures the sender alone)")
    ap.add_argument("--prepared", action="store_true",
                    help="events carry their JSON from the decode workers, as in the collector "
                         "(default: the sink serialises every document, which is the harder case)")
    opts = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmpdir, ElasticsearchProcess("--no-validate") as es:
        tmp = Path(tmpdir)
        t = time.perf_counter()
        pool = event_pool(min(opts.pool, opts.events), tmp / "gen")
        work = batches(pool, opts.events, opts.batch, opts.prepared)
        print(f"prepared {opts.events} events ({len(pool)} distinct) in {time.perf_counter() - t:.1f} s")

        from wafpipe.sinks.elasticsearch.config import ElasticsearchSinkConfig

        cfg = ElasticsearchSinkConfig(type="elasticsearch", hosts=[es.url], timeout_s=120.0)
        sink = ClusterSink(
            ElasticsearchClient(cfg), name="bench", spool_dir=tmp / "spool", router=NamespaceRouter("default"),
            options=SinkOptions(batch_size=opts.bulk, senders=opts.senders, fsync=not opts.no_fsync,
                                spool_max_bytes=4 << 30, max_bulk_bytes=32 << 20),
        )
        sink.open()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for batch in work:
            sink.write(batch)
        written = time.perf_counter()
        ok = sink.flush(timeout=3600)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        stats = sink.stats
        sink.close()
        stored = count(es.url, "logs-imperva.waf-default")
        print(f"write() of every batch took {written - wall0:.1f} s; drained: {ok}")
        print(f"delivered {stats.written} (duplicates {stats.duplicates}, dead letters {stats.dead_lettered}), "
              f"server holds {stored}, {stats.requests} bulk requests")
        print(f"wall clock: {opts.events / wall:,.0f} events/s ({wall:.1f} s)")
        print(f"sink CPU:   {opts.events / cpu:,.0f} events per CPU-second ({cpu:.1f} CPU-s, all threads)")
        return 0 if ok and stored == opts.events else 1


if __name__ == "__main__":
    sys.exit(main())
