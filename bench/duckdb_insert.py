"""How should the DuckDB sink keep "first write wins" on a big store? (DESIGN §2)

Builds a store of ``--rows`` synthetic events (default 10 M, generated inside DuckDB in one
vectorised ``INSERT … SELECT`` — never Python dicts), copies it once per mechanism, and times
batches of ``--batch`` events (default 10 000) into the copy, each batch its own committed
transaction, as the sink does:

* ``pk``    — ``id`` PRIMARY KEY (an ART index) and ``INSERT OR IGNORE``;
* ``full``  — anti-join (``NOT EXISTS``) against the whole table;
* ``range`` — anti-join limited to the batch's ``ts`` range (what :mod:`wafpipe.sinks.duckdb.sink`
  does; its exact SQL is imported from there).

Two workloads per mechanism: ``new`` (batches that continue the timeline: the live case) and
``replay`` (batches of ids already stored, taken from the middle of the timeline: a crash
replay, all duplicates). Each mechanism runs in its own process, so the reported RSS (current and
peak, from /proc) is its own. Finally ``sink`` times :meth:`DuckDBSink.write` end to end (Python
documents → Arrow → the ``range`` SQL) on the ``range`` copy.

Usage: ``.venv/bin/python bench/duckdb_insert.py [--rows 10000000] [--batches 30] [--dir DIR]
[--mechanisms range,full,pk] [--checkpoint-threshold 16MB]``.

Measured (DuckDB 2.0.1, 2 vCPU, memory_limit 256MB, CHECKPOINT_THRESHOLD 128MB,
``--rows 10000000 --batches 30``: a 1.6 GB store, 300 000 events per workload; the table in the
``wafpipe.sinks.duckdb.sink`` docstring summarises this; RSS in MiB)::

    base store: 10,000,000 rows in 150.2 s, 1623 MiB
    range  new 45 587 ev/s (rss 302, peak 464)   replay 677 342 ev/s (rss 351)
           sink_new 38 723 ev/s (rss 475, peak 620)   sink_replay 88 942 ev/s (rss 484)
    full   new 18 585 ev/s (rss 346, peak 510)   replay 17 399 ev/s (rss 372, peak 548)
    pk     ADD PRIMARY KEY at 256MB: "Out of Memory Error: could not allocate block of size
           256.0 KiB (244.1 MiB/244.1 MiB used)"; retried at 8GB: 8.4 s, rss 1378, peak 2649
           new 16 783 ev/s (rss 1283)   replay 32 286 ev/s (rss 577)

"new" batches continue the timeline (the live case); "replay" batches hold only stored ids (a
crash replay); ``sink_*`` include building the Arrow table from Python documents.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from wafpipe.model import Event
from wafpipe.sinks.duckdb.sink import (
    _DDL,
    CHECKPOINT_THRESHOLD,
    INSERT_FULL_SQL,
    INSERT_RANGE_SQL,
    DuckDBSink,
)

START = "2024-01-01 00:00:00"
SPAN_S = 30 * 86400  # the base store covers 30 days

# Synthetic rows [a, b) in ``events`` column order. ``i`` fixes every value, so a row generated
# twice (the replay workload) has the same id and ts as the stored one.
GEN_SQL = """
WITH r AS (
  SELECT i, hash(i) AS h,
         TIMESTAMP '{start}' + to_milliseconds(CAST(i * {step_ms} AS BIGINT)) AS ts  -- ms, as @timestamp
  FROM range({a}, {b}) t(i)
), v AS (
  SELECT i, h, ts,
    replace(replace(rtrim(to_base64(unhex(md5(i::VARCHAR))), '='), '+', '-'), '/', '_') AS id,
    ['shop.example.com', 'api.example.com', 'www.example.org', 'login.example.net'][1 + (h % 4)::INT] AS site,
    (1000000 + h % 4)::VARCHAR AS site_id,
    '1843222' AS account_id,
    ((h >> 8) % 223 + 1)::VARCHAR || '.' || ((h >> 16) % 256)::VARCHAR || '.'
      || ((h >> 24) % 256)::VARCHAR || '.' || ((h >> 32) % 256)::VARCHAR AS source_ip,
    ['US', 'DE', 'IL', 'UA', 'FR', 'BR'][1 + ((h >> 40) % 6)::INT] AS country,
    h % 10 = 0 AS security_event,
    ['REQ_PASSED', 'REQ_CACHED_FRESH', 'REQ_BLOCKED_SESSION', 'REQ_CHALLENGE_CAPTCHA'][1 + ((h >> 44) % 4)::INT]
      AS action,
    [200, 200, 200, 304, 404, 403, 500][1 + ((h >> 48) % 7)::INT] AS status,
    ['GET', 'GET', 'POST', 'HEAD'][1 + ((h >> 52) % 4)::INT] AS method,
    '/p/' || ((h >> 20) % 5000)::VARCHAR || '.html' AS path,
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/'
      || (80 + (h >> 56) % 40)::VARCHAR || '.0.0.0 Safari/537.36' AS ua,
    md5((i * 7)::VARCHAR) || md5((i * 13)::VARCHAR) AS noise
  FROM r
)
SELECT id, ts, site, site_id, account_id, source_ip, country, action,
  CASE WHEN action LIKE 'REQ_BLOCKED%' THEN 'blocked' WHEN action LIKE 'REQ_CHALLENGE%' THEN 'challenged'
       WHEN action LIKE 'REQ_CACHED%' THEN 'cached' ELSE 'passed' END AS action_class,
  CASE WHEN action LIKE 'REQ_BLOCKED%' THEN 'failure' WHEN action LIKE 'REQ_CHALLENGE%' THEN 'unknown'
       ELSE 'success' END AS outcome,
  CASE WHEN security_event THEN 'alert' ELSE 'event' END AS kind,
  CASE WHEN security_event THEN 'SQL Injection' END AS attack_type,
  status, method, site AS host, path,
  CASE WHEN security_event THEN 'Block Malicious User' END AS rule,
  security_event, ua AS user_agent,
  json_object(
    '@timestamp', strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ'),
    'event', json_object('dataset', 'imperva.waf', 'module', 'imperva', 'kind',
        CASE WHEN security_event THEN 'alert' ELSE 'event' END,
        'original', 'CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| fileId=' || h::VARCHAR
          || ' sourceServiceName=' || site || ' siteid=' || site_id || ' requestClientApplication=' || ua
          || ' cs4=' || noise || ' request=' || site || path || ' cn1=' || status::VARCHAR
          || ' act=' || action || ' src=' || source_ip),
    'source', json_object('ip', source_ip, 'address', source_ip, 'geo', json_object('country_iso_code', country)),
    'http', json_object('request', json_object('method', method), 'response', json_object('status_code', status)),
    'url', json_object('domain', site, 'path', path, 'original', site || path),
    'user_agent', json_object('original', ua),
    'imperva', json_object('waf', json_object('site', json_object('name', site, 'id', site_id),
        'account', json_object('id', account_id), 'action', action, 'security_event', security_event,
        'client', json_object('visitor_id', noise), 'timestamp_source', 'start'))
  )::VARCHAR AS doc
FROM v ORDER BY ts
"""


def gen_sql(a: int, b: int, rows: int) -> str:
    return GEN_SQL.format(start=START, step_ms=SPAN_S * 1000 / rows, a=a, b=b)


def rss() -> dict[str, float]:
    """Current and peak resident set size of this process, in MiB."""
    out = {"rss_mib": 0.0, "peak_rss_mib": 0.0}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                out["rss_mib"] = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                out["peak_rss_mib"] = int(line.split()[1]) / 1024
    return out


def build_base(path: Path, rows: int, threads: int | None) -> float:
    t0 = time.perf_counter()
    con = duckdb.connect(str(path))
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute(_DDL)
    chunk = 2_000_000  # bounded memory per statement
    for a in range(0, rows, chunk):
        con.execute(f"INSERT INTO events {gen_sql(a, min(rows, a + chunk), rows)}")  # noqa: S608
        print(f"  base: {min(rows, a + chunk):,} rows", file=sys.stderr, flush=True)
    con.execute("CHECKPOINT")
    con.close()
    return time.perf_counter() - t0


def batch(gen: duckdb.DuckDBPyConnection, kind: str, k: int, args: argparse.Namespace) -> pa.Table:
    """Batch ``k`` of a workload. ``new``: rows after the end of the stored timeline (and after the
    batches the mechanism already wrote); ``replay``: stored rows from the middle (all duplicates).
    Generated one at a time, outside the timed part, so RSS shows the store, not the workload."""
    rows, size = args.rows, args.batch
    starts = {
        "new": rows,
        "sink_new": rows + size * args.batches,
        "replay": rows // 2,
        "sink_replay": rows // 2,
    }
    start = starts[kind]
    return gen.sql(gen_sql(start + k * size, start + (k + 1) * size, rows)).to_arrow_table()


def as_events(t: pa.Table) -> list[Event]:
    ids, docs = t.column("id").to_pylist(), t.column("doc").to_pylist()
    return [Event(i, orjson.loads(d)) for i, d in zip(ids, docs, strict=True)]


def _timed(result: dict[str, Any], kind: str, n: int, written: int, seconds: float) -> None:
    result[kind] = {"events": n, "written": written, "events_per_s": round(n / seconds), **rss()}
    if kind.endswith("replay") and written:
        result[kind]["WRONG"] = f"{written} duplicates were stored"
    print(f"  {result['mechanism']} {kind}: {result[kind]}", file=sys.stderr, flush=True)


def run_mechanism(mech: str, path: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One mechanism in this process: prepare the copy, then time both workloads."""
    result: dict[str, Any] = {"mechanism": mech, "rows": args.rows, "memory_limit": args.memory_limit}
    gen = duckdb.connect()
    con = duckdb.connect(str(path))
    con.execute("SET memory_limit = ?", [args.memory_limit])
    con.execute("SET checkpoint_threshold = ?", [args.checkpoint_threshold])
    if args.threads:
        con.execute("SET threads = ?", [args.threads])
    if mech == "pk":
        t0 = time.perf_counter()
        try:
            con.execute("ALTER TABLE events ADD PRIMARY KEY (id)")
            con.execute("CHECKPOINT")
        except duckdb.Error as exc:
            result["pk_error_at_memory_limit"] = str(exc).splitlines()[0][:200]
            con.close()
            con = duckdb.connect(str(path))
            con.execute("SET memory_limit = ?", [args.pk_memory_limit])
            result["memory_limit"] = args.pk_memory_limit
            t0 = time.perf_counter()
            con.execute("ALTER TABLE events ADD PRIMARY KEY (id)")
            con.execute("CHECKPOINT")
        result["index_build_s"] = round(time.perf_counter() - t0, 1)
        result["after_index_build"] = rss()
        con.close()  # reopen: what a restarted collector pays
        con = duckdb.connect(str(path))
        con.execute("SET memory_limit = ?", [result["memory_limit"]])
        con.execute("SET checkpoint_threshold = ?", [args.checkpoint_threshold])
    result["after_open"] = rss()
    sql = {
        "pk": "INSERT OR IGNORE INTO events SELECT * FROM wafpipe_batch ORDER BY ts",
        "full": INSERT_FULL_SQL,
    }
    for kind in ("new", "replay"):
        written = n = 0
        seconds = 0.0
        for k in range(args.batches):
            t = batch(gen, kind, k, args)
            t0 = time.perf_counter()
            con.register("wafpipe_batch", t)
            con.execute("BEGIN TRANSACTION")
            if mech == "range":
                lo = t.column("ts")[0].as_py()
                hi = t.column("ts")[len(t) - 1].as_py()
                row = con.execute(INSERT_RANGE_SQL, [lo, hi]).fetchone()
            else:
                row = con.execute(sql[mech]).fetchone()
            con.execute("COMMIT")
            con.unregister("wafpipe_batch")
            seconds += time.perf_counter() - t0
            written += int(row[0]) if row else 0
            n += len(t)
        _timed(result, kind, n, written, seconds)
    con.close()
    if mech == "range":  # the real sink, Python documents → Arrow included
        sink = DuckDBSink(path, memory_limit=args.memory_limit, threads=args.threads)
        sink.open()
        for kind in ("sink_new", "sink_replay"):
            written = n = 0
            seconds = 0.0
            for k in range(args.batches):
                evs = as_events(batch(gen, kind, k, args))
                t0 = time.perf_counter()
                written += sink.write(evs).written
                seconds += time.perf_counter() - t0
                n += len(evs)
            _timed(result, kind, n, written, seconds)
        sink.close()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--batches", type=int, default=30)
    ap.add_argument("--memory-limit", default="256MB")
    ap.add_argument("--pk-memory-limit", default="8GB", help="retry limit when the PK index does not fit")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument(
        "--checkpoint-threshold", default=CHECKPOINT_THRESHOLD, help="DuckDB checkpoint_threshold"
    )
    ap.add_argument("--mechanisms", default="range,full,pk")
    ap.add_argument("--dir", type=Path, default=None, help="work directory (default: a temp dir, removed)")
    ap.add_argument("--keep", action="store_true", help="keep the stores")
    ap.add_argument("--_run", nargs=2, metavar=("MECH", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._run:
        print(json.dumps(run_mechanism(args._run[0], Path(args._run[1]), args)))
        return
    work = args.dir or Path(tempfile.mkdtemp(prefix="wafpipe-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    base = work / f"base-{args.rows}.duckdb"
    try:
        if not base.exists():
            print(f"building {args.rows:,} rows in {base} …", file=sys.stderr)
            print(
                f"base store: {args.rows:,} rows in {build_base(base, args.rows, args.threads):.1f} s, "
                f"{base.stat().st_size / 2**20:.0f} MiB"
            )
        for mech in args.mechanisms.split(","):
            copy = work / f"{mech}.duckdb"
            shutil.copyfile(base, copy)
            cmd = [
                sys.executable,
                __file__,
                "--_run",
                mech,
                str(copy),
                "--rows",
                str(args.rows),
                "--batch",
                str(args.batch),
                "--batches",
                str(args.batches),
                "--memory-limit",
                args.memory_limit,
                "--pk-memory-limit",
                args.pk_memory_limit,
                "--checkpoint-threshold",
                args.checkpoint_threshold,
            ]
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
            if proc.returncode:
                print(f"{mech}: FAILED\n{proc.stderr[-2000:]}")
            else:
                res = json.loads(proc.stdout.strip().splitlines()[-1])
                print(json.dumps(res, indent=None))
            if not args.keep:
                copy.unlink(missing_ok=True)
                Path(str(copy) + ".wal").unlink(missing_ok=True)
    finally:
        if args.dir is None and not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
