"""What one pass of the correlation rules costs on a big store (issue 24). Figures, not assertions.

A watching collector runs every correlation rule each ``[detect] correlation_interval_s`` (60 s)
over the last 45 minutes plus the longest timespan (:class:`wafpipe.collector.detections
.Correlations`), reading the store beside ingestion. This times that pass, rule by rule, as the
collector runs it (:func:`wafpipe.detect.engine.evaluate`, the read service with its defaults), on
a store built by ``bench/duckdb_insert.py --store PATH`` (10 M events, one day per copy, 20 %
security events), the clock a minute past the newest event: ``--reps`` timed runs after one
warm-up, median and max, and the findings of the last run.

Run: ``.venv/bin/python bench/detect.py --store PATH [--reps 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from wafpipe.collector.detections import LOOKBACK_S  # noqa: E402
from wafpipe.detect import SHIPPED_RULES, Correlation, load_paths  # noqa: E402
from wafpipe.detect.engine import evaluate  # noqa: E402
from wafpipe.store.connection import ReadOnlyStore  # noqa: E402
from wafpipe.store.params import time_range  # noqa: E402
from wafpipe.store.service import ReadService  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    rules = [d for d in load_paths([SHIPPED_RULES]) if isinstance(d, Correlation)]
    with ReadOnlyStore(args.store) as store:
        reader = ReadService(store.cursor)
        newest = reader.search("", limit=1, fields=["@timestamp"])["events"][0]["@timestamp"]
        now, _ = time_range(newest, None)
        assert now is not None
        now += timedelta(minutes=1)
        since = now - timedelta(seconds=LOOKBACK_S + max(r.timespan_s for r in rules))
        print(f"store {args.store}: {reader.count()['count']:,} events, newest {newest}; pass from {since:%H:%M}")
        print(f"{'rule':58} {'kind':17} {'median ms':>9} {'max ms':>7} {'findings':>8}")
        total = 0.0
        for rule in rules:
            times = []
            found = []
            for rep in range(args.reps + 1):
                t = time.perf_counter()
                found = evaluate(reader, [rule], since=since, until=now)
                if rep:
                    times.append((time.perf_counter() - t) * 1000)
            total += statistics.median(times)
            print(f"{rule.title[:58]:58} {rule.kind:17} {statistics.median(times):9.0f} {max(times):7.0f} "
                  f"{len(found):8d}")  # fmt: skip
        print(f"{'one pass (sum of medians)':76} {total:9.0f}")
        reader.close()


if __name__ == "__main__":
    main()
