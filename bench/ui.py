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
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()
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
