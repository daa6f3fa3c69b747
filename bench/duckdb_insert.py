"""How should the embedded store keep "first write wins" on a big store? (DESIGN §2, issue 20 item 2)

Builds a version-2 store of ``--rows`` events (default 10 M) from real Batches: ``--seed-events``
generated CEF events decoded by the native core, inserted again and again inside DuckDB with new
ids, file identities and times (one vectorised ``INSERT … SELECT`` per copy, no Python per row).
Then, on a copy of that store per mechanism, it times ``--batches`` Batches of ``--batch`` events,
each its own committed transaction as the sink writes them:

* ``ledger`` — the sink's way: the file's ledger row read and updated in the same transaction, the
  Batch's lines at or past the settled ordinal inserted (a filter on the ordinal, no id lookup);
* ``range``  — an anti-join on ``_id`` limited to the Batch's ``@timestamp`` range (version 1's way,
  kept by the sink for Batches the ledger cannot vouch for);
* ``full``   — an anti-join against the whole table.

Two workloads: ``new`` (Batches of a file not seen before: the live case) and ``replay`` (Batches
already stored, as after a crash). Each mechanism runs in its own process so its RSS is its own.
The SQL is the sink's own (imported), so the bench measures what runs.

Retention (issue 20 item 5, ``--retention``), each on its own copy of the store: ``DELETE FROM events
WHERE "@timestamp" < cutoff`` with the cutoff past the oldest ``--retention-days`` copies (each copy
is one day: 5 of 50 = 10 % of the rows), then ``CHECKPOINT``; then the same cutoff for one dataset
only (``access``: ``imperva.waf.security_event IS NOT TRUE``, and ``security``). The store has one
``event.dataset`` (``imperva.waf``); the two kinds of event the retention settings name are told
apart by ``imperva.waf.security_event``, and every copy holds both (``--attack-ratio`` 0.2). Seconds
for the DELETE and for the CHECKPOINT, the rows deleted, and the file's size and DuckDB's used and
free blocks before and after.

The base store is kept (``--store``, default ``DIR/base.duckdb``) and reused when it exists:
``bench/query.py`` reads the same store.

Usage: ``.venv/bin/python bench/duckdb_insert.py [--rows 10000000] [--batches 30] [--batch 10000]
[--dir DIR] [--store PATH] [--mechanisms ledger,range,full] [--retention]`` (``--mechanisms ''``
runs none). Results: docs/architecture.md ("The store"); a run's full tables: bench/out/store-v2.md
(git-ignored, local).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import queue
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from wafpipe.decode.reader import read_path  # noqa: E402
from wafpipe.fields.arrow import column  # noqa: E402
from wafpipe.sinks.duckdb.sink import (  # noqa: E402
    _INSERT,
    _LEDGER_GET,
    _LEDGER_PUT,
    _PAST_SETTLED,
    INSERT_FULL_SQL,
    INSERT_RANGE_SQL,
)
from wafpipe.store.schema import SCHEMA_VERSION, ddl, stored  # noqa: E402
from wafpipe.tools.generate import generate_files  # noqa: E402

MEMORY_LIMIT = "256MB"
# The seed's hour is fixed: its file identity (which hashes the header's times) is then the same in
# every run, so a kept store (``--store``) matches the seed a later run regenerates.
_INSERT_FROM = _INSERT.format(new=_PAST_SETTLED)  # the sink's insert of a Batch past the settled ordinal
SEED_START = datetime(2024, 6, 10, 0, 0, tzinfo=UTC)
SEED_END = datetime(2024, 6, 10, 1, 0, tzinfo=UTC)


def rss_mib() -> tuple[float, float]:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def seed_batches(work: Path, events: int, batch: int) -> list[pa.RecordBatch]:
    shutil.rmtree(work / "seed", ignore_errors=True)
    (path,) = generate_files(work / "seed", events=events, files=1, fmt="cef", compression="gzip", seed=1,
                             start=SEED_START, end=SEED_END)
    return [stored(b.events) for b in read_path(path, batch_rows=batch, documents=False).batches() if len(b)]


_COPY = (
    "INSERT INTO events SELECT * REPLACE (_id || $k AS _id, \"@timestamp\" - to_days($k::INTEGER) AS \"@timestamp\", "
    "struct_update(imperva, waf := struct_update(imperva.waf, file := struct_update(imperva.waf.file, "
    "identity := imperva.waf.file.identity || $k))) AS imperva) FROM seed"
)


def build(db: Path, seed: list[pa.RecordBatch], rows: int) -> dict[str, Any]:
    con = duckdb.connect(str(db))
    con.execute("SET memory_limit = ?", [MEMORY_LIMIT])
    for statement in ddl():
        con.execute(statement)
    con.execute("INSERT INTO wafpipe_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    table = pa.Table.from_batches(seed)
    con.register("seed_arrow", table)
    con.execute("CREATE TEMP TABLE seed AS SELECT * FROM seed_arrow")
    t0 = time.perf_counter()
    copies = max(1, rows // table.num_rows)
    for k in range(1, copies + 1):  # copy k is k days older than the seed; the seed is the newest
        con.execute(_COPY, {"k": f"{k}"})
        con.execute("INSERT INTO ledger SELECT DISTINCT imperva.waf.file.identity || ?, ?, true, now() FROM seed",
                    [str(k), 10**9])
    con.execute("CHECKPOINT")
    n = con.execute("SELECT count(*) FROM events").fetchone()
    con.close()
    return {"rows": n[0] if n else 0, "seconds": round(time.perf_counter() - t0, 1),
            "mib": round(db.stat().st_size / 2**20)}


# The retention deletes (the collector's and ``store prune``'s statements: a time cutoff, and one
# dataset's rows, told apart by ``security_event``). Fixed text; the cutoff is a parameter.
_RETENTION = {
    "all": 'DELETE FROM events WHERE "@timestamp" < ?',
    "access": 'DELETE FROM events WHERE imperva.waf.security_event IS NOT TRUE AND "@timestamp" < ?',
    "security": 'DELETE FROM events WHERE imperva.waf.security_event IS TRUE AND "@timestamp" < ?',
}


def _blocks(con: duckdb.DuckDBPyConnection, db: Path) -> dict[str, Any]:
    size = con.execute("SELECT used_blocks, free_blocks, block_size FROM pragma_database_size()").fetchone()
    used, free, block = (int(x) for x in size) if size else (0, 0, 0)
    return {"file_mib": round(db.stat().st_size / 2**20), "used_mib": round(used * block / 2**20),
            "free_mib": round(free * block / 2**20)}


def retention(db: str, dataset: str, days: int, out: Any) -> None:
    """On a copy of the store: delete ``dataset``'s rows in the oldest ``days`` copies, then
    CHECKPOINT; seconds for each and the sizes before and after."""
    path = Path(db)
    con = duckdb.connect(db)
    con.execute("SET memory_limit = ?", [MEMORY_LIMIT])
    con.execute("SET checkpoint_threshold = '128MB'")
    oldest = con.execute('SELECT min("@timestamp") FROM events').fetchone()
    total = con.execute("SELECT count(*) FROM events").fetchone()
    assert oldest and total
    # copy k is the seed (an hour of events) shifted k days back: the cutoff is half a day past the
    # start of the oldest ``days`` copies
    cutoff = oldest[0] + timedelta(days=days - 0.5)
    before = _blocks(con, path)
    t0 = time.perf_counter()
    con.execute("BEGIN TRANSACTION")
    rows = con.execute(_RETENTION[dataset], [cutoff]).fetchall()
    con.execute("COMMIT")
    t1 = time.perf_counter()
    con.execute("CHECKPOINT")
    t2 = time.perf_counter()
    after = _blocks(con, path)
    left = con.execute("SELECT count(*) FROM events").fetchone()
    _, peak = rss_mib()
    con.close()
    out.put({"dataset": dataset, "rows_before": int(total[0]), "deleted": int(rows[0][0]) if rows else 0,
             "rows_after": int(left[0]) if left else 0, "delete_s": round(t1 - t0, 3),
             "checkpoint_s": round(t2 - t1, 3), "before": before, "after": after, "peak_mib": round(peak)})


def run(db: str, mechanism: str, seed: list[pa.RecordBatch], batches: int, out: Any) -> None:
    con = duckdb.connect(db)
    con.execute("SET memory_limit = ?", [MEMORY_LIMIT])
    con.execute("SET checkpoint_threshold = '128MB'")
    result: dict[str, Any] = {}
    for workload in ("new", "replay"):
        # new: the seed's Batches (ids not in the store: copies have suffixed ids); replay: copy 1's
        work = list(seed[:batches])
        if workload == "replay":
            work = [con.execute(
                "SELECT * FROM events WHERE imperva.waf.file.identity = ? AND imperva.waf.file.ordinal >= ? "
                "AND imperva.waf.file.ordinal < ? ORDER BY imperva.waf.file.ordinal",
                [column(b, "imperva.waf.file.identity")[0].as_py() + "1",
                 pc.min(column(b, "imperva.waf.file.ordinal")).as_py(),
                 pc.max(column(b, "imperva.waf.file.ordinal")).as_py() + 1],
            ).to_arrow_table().combine_chunks().to_batches()[0] for b in work]
        events = written = 0
        t0 = time.perf_counter()
        for b in work:
            con.register("wafpipe_batch", b)
            con.execute("BEGIN TRANSACTION")
            if mechanism == "ledger":
                identity = column(b, "imperva.waf.file.identity")[0].as_py()
                row = con.execute(_LEDGER_GET, [identity]).fetchone()
                settled = int(row[0]) if row else 0
                nxt = pc.max(column(b, "imperva.waf.file.ordinal")).as_py() + 1
                con.execute(_LEDGER_PUT, [identity, nxt, True, datetime.now(UTC)])
                res = con.execute(_INSERT_FROM, [settled]).fetchone()
            elif mechanism == "range":
                ts = column(b, "@timestamp")
                res = con.execute(INSERT_RANGE_SQL, [pc.min(ts).as_py(), pc.max(ts).as_py()]).fetchone()
            else:
                res = con.execute(INSERT_FULL_SQL).fetchone()
            con.execute("COMMIT")
            con.unregister("wafpipe_batch")
            events += b.num_rows
            written += int(res[0]) if res else 0
        seconds = time.perf_counter() - t0
        rss, peak = rss_mib()
        result[workload] = {"events_per_s": round(events / seconds), "written": written, "events": events,
                            "rss_mib": round(rss), "peak_mib": round(peak)}
    con.close()
    out.put(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed-events", type=int, default=200_000)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--store", type=Path, default=None, help="the base store (default DIR/base.duckdb)")
    parser.add_argument("--mechanisms", default="ledger,range,full", help="'' for none")
    parser.add_argument("--retention", action="store_true", help="also measure retention deletes")
    parser.add_argument("--retention-days", type=int, default=5, help="oldest copies (days) to delete")
    args = parser.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="wafpipe-ledger-"))
    work.mkdir(parents=True, exist_ok=True)
    seed = seed_batches(work, args.seed_events, args.batch)
    base = args.store or work / "base.duckdb"
    if not base.exists():
        print("base store:", json.dumps(build(base, seed, args.rows)), flush=True)
    for mechanism in filter(None, args.mechanisms.split(",")):
        copy = work / f"{mechanism}.duckdb"
        shutil.copy(base, copy)
        print(mechanism, json.dumps(in_process(run, str(copy), mechanism, seed, args.batches)), flush=True)
        copy.unlink()
    for dataset in ("all", "access", "security") if args.retention else ():
        copy = work / f"retention-{dataset}.duckdb"
        shutil.copy(base, copy)
        result = in_process(retention, str(copy), dataset, args.retention_days)
        print("retention", json.dumps(result, default=str), flush=True)
        copy.unlink()


def in_process(target: Any, *args: Any) -> Any:
    """``target(*args, queue)`` in a fresh process (its RSS its own); what it put on the queue.
    A process that dies first is an error, not a wait for ever."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, out))
    proc.start()
    while True:
        try:
            result = out.get(timeout=5)
            break
        except queue.Empty:
            if not proc.is_alive():
                raise SystemExit(f"{target.__name__}{args[:2]} exited {proc.exitcode} without a result") from None
    proc.join()
    return result


if __name__ == "__main__":
    main()
