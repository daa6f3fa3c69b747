"""The web UI's overview on a 10 M-event store (issue 23, "Speed": the overview's queries together,
p95 ≤ 300 ms). Figures, not assertions.

One overview load is what the page asks the read side for:

* rendered on the server (:func:`wafpipe.web.pages.overview_data`, the page's own function): three
  counts and eight top-10 lists;
* then in the browser (``static/overview.js``): the histogram split by outcome class (one pass),
  the top attack types, and the countries for the map.

Both halves run one query after the other here (the browser sends its part at once, the API runs
at most two reads together), so "together" is their sum: an upper bound of what a person waits.
Ranges: ``24h`` (the clock fixed a minute past the newest event, as bench/query.py does) and
``all``. ``--reps`` timed loads after one warm-up; p50, p95 (nearest rank) and max.

Run: ``.venv/bin/python bench/ui.py --store PATH [--reps 10]`` on a store built by
``bench/duckdb_insert.py --store PATH``.

During ingest (issue 23: "the UI stays usable while the collector ingests at full speed"):
``bench/ui.py --ingest EVENTS [--dir DIR]`` generates a backlog of EVENTS events, starts ``wafpipe
serve`` on it (workers as configured by default: one per core) and, until every file is stored,
loads the overview over HTTP as a browser does (the page, then its three chart requests), one load
after the other; then the same loads once more on the finished store. Reported: load times during
and after ingest (p50/p95/max), the ingest rate with the loads running, and how many loads failed
(any answer but 200).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from wafpipe.store.connection import ReadOnlyStore  # noqa: E402
from wafpipe.store.service import ReadService  # noqa: E402
from wafpipe.web.pages import SECURITY, overview_data  # noqa: E402
from wafpipe.web.timerange import TimeRange  # noqa: E402

TARGET_S = 0.3


def browser_part(service: ReadService, tr: TimeRange) -> None:
    service.histogram("", tr.since, tr.until, by="imperva.waf.action_class")
    service.top("rule.category", SECURITY, tr.since, tr.until, limit=15)
    service.top("source.geo.country_iso_code", "", tr.since, tr.until, limit=300)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * p // 100) - 1)]


CHART_REQUESTS = (
    ("/api/histogram", {"by": "imperva.waf.action_class"}),
    ("/api/top", {"field": "rule.category", "q": SECURITY, "limit": "15"}),
    ("/api/top", {"field": "source.geo.country_iso_code", "limit": "300"}),
)


def load_overview(client: httpx.Client, failures: list[str]) -> float:
    """One overview load as the browser makes it (all time): seconds."""
    t0 = time.perf_counter()
    for path, params in (("/", {"range": "all"}), *CHART_REQUESTS):
        resp = client.get(path, params=params)
        if resp.status_code != 200:
            failures.append(f"{path} {resp.status_code}")
    return time.perf_counter() - t0


def stored_files(client: httpx.Client) -> int:
    files = client.get("/api/health").json().get("files", {})
    return int(files.get("done", 0)) + int(files.get("quarantined", 0)) + int(files.get("failed", 0))


def during_ingest(events: int, work: Path) -> None:
    from wafpipe.tools.generate import generate_files

    shutil.rmtree(work, ignore_errors=True)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    paths = generate_files(work / "incoming", events=events, files=max(1, events // 10_000), start=start,
                           end=start + timedelta(days=2), seed=23)
    (work / "wafpipe.toml").write_text(f'data_dir = "{work / "data"}"\n[[sources]]\ntype = "directory"\n'
                                       f'path = "{work / "incoming"}"\n[[sinks]]\ntype = "duckdb"\n[api]\nport = 0\n')
    (work / "wafpipe.toml").chmod(0o600)
    log = (work / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "wafpipe.cli", "serve", "-c", str(work / "wafpipe.toml")],
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        while not (found := re.search(r"open (https?://\S+)/login\?code=", (work / "serve.log").read_text())):
            if proc.poll() is not None:
                raise SystemExit((work / "serve.log").read_text())
            time.sleep(0.1)
        token = (work / "data" / "api.token").read_text().strip()
        client = httpx.Client(base_url=found.group(1), headers={"Authorization": f"Bearer {token}"}, timeout=120)
        failures: list[str] = []
        during: list[float] = []
        t0 = time.perf_counter()
        while stored_files(client) < len(paths):
            during.append(load_overview(client, failures))
        ingest_s = time.perf_counter() - t0
        after = [load_overview(client, failures) for _ in range(10)]
    finally:
        proc.terminate()
        proc.wait(120)
        log.close()
    row = {k: f"{pct(v, 50) * 1000:.0f}/{pct(v, 95) * 1000:.0f}/{max(v) * 1000:.0f} ms" if v else "none"
           for k, v in (("during", during), ("after", after))}
    print(f"{events} events in {len(paths)} files ingested by `wafpipe serve` in {ingest_s:.1f} s "
          f"({events / ingest_s:,.0f} events/s, measured from the first load) with overview loads running")
    print(f"overview loads (page + 3 chart requests, all time) p50/p95/max: during ingest {row['during']} "
          f"({len(during)} loads), after {row['after']}; answers other than 200: {len(failures)} {failures[:3]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--ingest", type=int, help="events to ingest while loading the overview")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/wafpipe-bench-ui"), help="work directory for --ingest")
    args = ap.parse_args()
    if args.ingest:
        during_ingest(args.ingest, args.dir)
        return
    if args.store is None:
        ap.error("--store or --ingest is needed")
    with ReadOnlyStore(args.store) as store:
        service = ReadService(store.cursor)
        newest = store.cursor().execute('SELECT max("@timestamp") FROM events').fetchone()[0]  # type: ignore[index]
        os.environ["WAFPIPE_NOW"] = (newest + timedelta(minutes=1)).isoformat()
        print(f"store {args.store}, newest event {newest}; WAFPIPE_NOW={os.environ['WAFPIPE_NOW']}")
        for name in ("24h", "all"):
            tr = TimeRange.parse(name, None, None)
            server: list[float] = []
            browser: list[float] = []
            for rep in range(args.reps + 1):
                t0 = time.perf_counter()
                overview_data(service, tr)
                t1 = time.perf_counter()
                browser_part(service, tr)
                t2 = time.perf_counter()
                if rep:
                    server.append(t1 - t0)
                    browser.append(t2 - t1)
            together = [a + b for a, b in zip(server, browser, strict=True)]
            row: dict[str, Any] = {k: f"{pct(v, 50) * 1000:.0f}/{pct(v, 95) * 1000:.0f}/{max(v) * 1000:.0f} ms"
                                   for k, v in (("page", server), ("charts", browser), ("together", together))}
            verdict = "met" if pct(together, 95) <= TARGET_S else "NOT met"
            print(f"range {name:>4}: p50/p95/max  page {row['page']}  charts {row['charts']}  together "
                  f"{row['together']}  (target p95 ≤ {TARGET_S * 1000:.0f} ms: {verdict})")


if __name__ == "__main__":
    main()
