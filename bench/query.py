"""Query latency on a 10 M-event version-2 store (issue 20, "Speed"). Figures, not assertions.

Reads the store ``bench/duckdb_insert.py --store PATH`` builds (``--store PATH`` here too:
200 000 generated CEF events, copied 50 times, each copy one day older) through the library
``wafpipe query`` uses: :class:`~wafpipe.store.connection.ReadOnlyStore` and
:class:`~wafpipe.store.service.ReadService` with their defaults (the store opened read-only, 256 MB,
DuckDB's own thread count, a 30 s timeout per query), called as :mod:`wafpipe.cli.query` calls it —
a search is the CLI's default table: 20 rows, its seven columns, newest first. The clock is fixed
(``WAFPIPE_NOW``) a minute past the newest event, so ``--since 24h`` covers the newest copy (2 % of
the rows).

The queries (values picked from the store, so every term matches):

* ``top``: ``--top source.ip --since 24h``; ``count``: ``--count``;
* ``ip``: ``source.ip:<the source.ip of a row in the middle of the store>``;
* ``path``: ``url.path:"/login"`` (or the most frequent path when no event has it);
* ``or300``: 100 ``source.ip``, 100 ``url.path`` and 100 ``http.response.status_code`` values
  joined by ``or``, like a list of indicators: the source addresses ranked 100–199 by frequency,
  the 10 rarest paths and the 3 rarest status codes, each list padded with values that never occur
  (generated data has ~26 paths and ~9 status codes; with the frequent ones every event matches);
* ``text``: one free-text term over ``event.original`` (``--text``).

Each as the CLI's search, and the terms also as ``--count``. ``--reps`` timed runs each after one
warm-up, interleaved (run 1 of every query, then run 2…) so a change in the machine's load spreads
over all of them; p50, p95 (nearest rank) and max of the service call, Python included. A query that
stops at the timeout is reported as such. ``--explain NAME`` prints the profile of
that query's statement instead (DuckDB's JSON profile: time and rows per operator).

Run: ``.venv/bin/python bench/query.py --store PATH [--reps 20] [--only top,count,…]``.
A run's full tables: bench/out/store-v2.md (git-ignored, local).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from wafpipe.cli.query import DEFAULT_COLUMNS  # noqa: E402
from wafpipe.store.connection import ReadOnlyStore  # noqa: E402
from wafpipe.store.params import projection  # noqa: E402
from wafpipe.store.query import statements  # noqa: E402
from wafpipe.store.query.fields import resolve  # noqa: E402
from wafpipe.store.runner import ReadLimitError  # noqa: E402
from wafpipe.store.service import ReadService  # noqa: E402

COLUMNS = [f for f, _ in DEFAULT_COLUMNS]
TARGETS = {"top": 0.3, "count": 0.3, "ip": 0.3, "path": 0.3, "or300": 3.0}


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pick(store: Path, text: str) -> dict[str, Any]:
    """The values the queries use, read from the store once (plain DuckDB, before timing)."""
    import duckdb

    with duckdb.connect(str(store), read_only=True) as con:
        newest = con.execute('SELECT max("@timestamp") FROM events').fetchone()[0]  # type: ignore[index]
        rows = con.execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[index]
        ip = con.execute("SELECT source.ip FROM events WHERE source.ip IS NOT NULL LIMIT 1 OFFSET ?",
                         [rows // 2]).fetchone()[0]  # type: ignore[index]
        has_login = con.execute("SELECT count(*) FROM events WHERE url.path = '/login'").fetchone()[0]  # type: ignore[index]
        path = "/login" if has_login else con.execute(
            "SELECT url.path FROM events GROUP BY ALL ORDER BY count(*) DESC LIMIT 1").fetchone()[0]  # type: ignore[index]

        def ranked(expr: str) -> list[Any]:
            """Values, most frequent first (at most 300)."""
            return [r[0] for r in con.execute(
                f"SELECT {expr} AS v FROM events WHERE v IS NOT NULL GROUP BY v ORDER BY count(*) DESC, v LIMIT 300"  # noqa: S608
            ).fetchall()]

        # an indicator list, not "everything": the values ranked 100-199 of source.ip, the 10 rarest
        # paths and the 3 rarest status codes (generated data has ~26 paths and ~9 codes: the most
        # frequent ones match nearly every event), padded with values that never occur
        all_ips = ranked("source.ip")
        ips = all_ips[100:200] or all_ips[-100:]
        paths, codes = ranked("url.path")[-10:], ranked("http.response.status_code")[-3:]
        counts = {
            "ip": con.execute("SELECT count(*) FROM events WHERE source.ip = ?", [ip]).fetchone()[0],  # type: ignore[index]
            "path": con.execute("SELECT count(*) FROM events WHERE url.path = ?", [path]).fetchone()[0],  # type: ignore[index]
            "text": con.execute("SELECT count(*) FROM events WHERE contains(lower(event_original), lower(?))",
                                [text]).fetchone()[0],  # type: ignore[index]
        }
    distinct = {"ip": len(ips), "path": len(paths), "status": len(codes)}
    ips += [f"192.0.2.{i}" for i in range(100 - len(ips))]
    paths += [f"/bench/absent/{i}" for i in range(100 - len(paths))]
    codes += [c for c in range(100, 1000) if c not in codes][: 100 - len(codes)]
    or300 = " or ".join([f"source.ip:{quote(v)}" for v in ips] + [f"url.path:{quote(v)}" for v in paths]
                        + [f"http.response.status_code:{v}" for v in codes])
    return {"newest": newest, "rows": rows, "ip": ip, "path": path, "or300": or300, "distinct": distinct,
            "matches": counts}


def queries(v: dict[str, Any], text: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """name → (service method, its arguments), as ``wafpipe query`` passes them."""
    search = {"limit": 20, "fields": COLUMNS}
    terms = {"ip": f"source.ip:{quote(v['ip'])}", "path": f"url.path:{quote(v['path'])}", "or300": v["or300"],
             "text": quote(text)}
    out: dict[str, tuple[str, dict[str, Any]]] = {
        "top": ("top", {"field": "source.ip", "since": "24h", "limit": 20}),
        "count": ("count", {}),
    }
    for name, q in terms.items():
        out[name] = ("search", {"q": q, **search})
        out[f"{name} --count"] = ("count", {"q": q})
    return out


def explain(store: Path, method: str, kw: dict[str, Any]) -> None:
    """EXPLAIN ANALYZE of the statement the service runs for ``method(**kw)``."""
    where, params = ReadService._where(kw.get("q", ""), kw.get("since"), None)  # noqa: SLF001
    if method == "count":
        sql = f"SELECT count(*) FROM events WHERE {where}"  # noqa: S608
    elif method == "top":
        ref = resolve(kw["field"])
        assert ref is not None
        sql, params = statements.top(ref, None, where, params, kw["limit"])
    else:
        sql = statements.search(where, projection(kw.get("fields")), newest_first=True)
        params = [*params, kw["limit"] + 1, 0]
    out = Path(f"/tmp/wafpipe-bench-profile-{os.getpid()}.json")
    with ReadOnlyStore(store) as ro, ro.cursor() as cur:
        cur.execute("SET TimeZone = 'UTC'")
        cur.execute("SET enable_profiling = 'json'")
        cur.execute("SET profiling_output = ?", [str(out)])
        t0 = time.perf_counter()
        cur.execute(sql, params).fetchall()
        print(f"-- {method} {json.dumps(kw)[:200]}\n-- {time.perf_counter() - t0:.3f} s")
    profile = json.loads(out.read_text())
    out.unlink()

    def walk(node: dict[str, Any], depth: int) -> None:
        extra = node.get("extra_info") or {}
        detail = {k: v for k, v in extra.items() if k in ("Table", "Projections", "Join Type", "Filters", "Expression")}
        print(f"{'  ' * depth}{node.get('name', '?')}: {node.get('timing', 0):.3f} s, "
              f"{node.get('intermediate_rows', 0):,} rows {str(detail)[:200]}")
        for c in node.get("children", []):
            walk(c, depth + 1)

    for node in profile.get("operator", []):  # DuckDB 2.0's layout: operator → children
        walk(node, 0)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * p // 100) - 1)] if p < 100 else ordered[-1]  # nearest rank


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, required=True, help="a store built by bench/duckdb_insert.py --store PATH")
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--text", default="sqlmap", help="the free-text term")
    ap.add_argument("--only", default="", help="comma-separated query names")
    ap.add_argument("--explain", default="", help="a query name: print its EXPLAIN ANALYZE and stop")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    v = pick(args.store, args.text)
    os.environ["WAFPIPE_NOW"] = (v["newest"] + timedelta(minutes=1)).isoformat()
    print(f"store {args.store}: {v['rows']:,} events, newest {v['newest']}; WAFPIPE_NOW={os.environ['WAFPIPE_NOW']}")
    print(f"values: source.ip {v['ip']} ({v['matches']['ip']:,} events), url.path {v['path']!r} "
          f"({v['matches']['path']:,}), free text {args.text!r} ({v['matches']['text']:,}); "
          f"present values in or300 {v['distinct']}; or300 is {len(v['or300'])} characters")
    todo = queries(v, args.text)
    if args.only:
        todo = {k: q for k, q in todo.items() if k in args.only.split(",")}
    if args.explain:
        explain(args.store, *todo[args.explain])
        return
    times: dict[str, list[float]] = {k: [] for k in todo}
    stopped: dict[str, str] = {}
    answers: dict[str, Any] = {}
    with ReadOnlyStore(args.store) as store:
        service = ReadService(store.cursor)
        try:
            for rep in range(args.reps + 1):  # rep 0 is the warm-up
                for name, (method, kw) in todo.items():
                    if name in stopped:
                        continue
                    t0 = time.perf_counter()
                    try:
                        res = getattr(service, method)(**kw)
                    except ReadLimitError as exc:
                        stopped[name] = f"{exc.kind}: {exc}"
                        continue
                    dt = time.perf_counter() - t0
                    if rep:
                        times[name].append(dt)
                    else:
                        answers[name] = res.get("count", len(res.get("events", res.get("values", []))))
        finally:
            service.close()
    rows = []
    figures = {}
    for name, ts in times.items():
        target = TARGETS.get(name.split(" ")[0])
        if name in stopped:
            rows.append([name, answers.get(name, "—"), "—", "—", "—", f"≤ {target} s" if target else "reported", stopped[name]])
            continue
        p50, p95, hi = pct(ts, 50), pct(ts, 95), max(ts)
        figures[name] = {"p50": p50, "p95": p95, "max": hi, "n": len(ts), "answer": answers.get(name)}
        met = "" if target is None else ("met" if p95 <= target else "NOT met")
        rows.append([name, answers.get(name), f"{p50 * 1000:,.0f}", f"{p95 * 1000:,.0f}", f"{hi * 1000:,.0f}",
                     f"≤ {target * 1000:,.0f} ms" if target else "reported", met])
    print("| query | rows / count | p50 ms | p95 ms | max ms | target (p95) | |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    if args.json:
        args.json.write_text(json.dumps({"values": {k: v[k] for k in ("rows", "ip", "path", "distinct", "matches")},
                                         "figures": figures, "stopped": stopped}, default=str, indent=1))


if __name__ == "__main__":
    main()
