"""Decode benchmark (the core issue's speed section). Not a test: figures, not assertions.

For each format it generates ``--events`` events into one gzip-compressed file (seed 1, fixed
time range, so every run measures the same bytes) and measures, in this one run:

* ceiling — strip the header, decompress, split lines (Python's zlib, nothing else: ``bodylines``);
* pycef — PyPI's ``pycef.parse`` on the same lines (CEF only; the baseline the issue names);
* v1 — version 1's Python path (decoders + ECS mapping + NDJSON), run from a git worktree of the
  pinned version 1 commit (``--v1 PATH``; created with ``git worktree add`` when missing) in a
  subprocess, timed inside it;
* native — the native core in this process: the file to Batches with their columns and JSON
  documents (what a collector with a cluster sink asks of a worker; ``parse`` asks for NDJSON lines
  only, without columns);
* parse — ``wafpipe parse FILE > /dev/null`` as a whole command (start-up included).

Then where parse's time goes, from the same run: the start-up (``wafpipe parse`` of a one-event
file), the core's first pass (``_native.BodyCheck``: inflate and MD5 of the whole body, so that
every event carries the checksum verdict), and the rest (the second inflate, decoding, ids, ECS
mapping, rendering, writing), beside the time half the ceiling allows. The ceiling does neither
the MD5 nor the ids: this says how much of that budget the required work leaves to the rest.

Then the second worker: two files of ``--events`` each parsed by two ``wafpipe parse`` processes at
once against the same two one after the other by one (``parse×2``: the speed-up of a second process
on the second core), beside the start-up that bounds it.

Ratios are reported against the ceiling, pycef and v1, measured in the same run. Pin it to one
core (``taskset -c 0``) for the per-format ratios; the second-worker figure needs both cores, so it
is measured only when the process may use two (``--workers-only`` runs just that part).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from bodylines import body_lines
from pycache import compile_wafpipe
from wafpipe import _native
from wafpipe.decode.reader import read_path
from wafpipe.imperva.container import ImpervaFile

OUT = Path(__file__).resolve().parent / "out"
ROOT = Path(__file__).resolve().parent.parent
V1_COMMIT = "c5e40ee"  # version 1 as released: the pure-Python decoders

V1_RUN = """
import sys, time
from functools import partial
import orjson
from wafpipe.reader import Event, FileReader  # version 1's layout
path = sys.argv[1]
best, n = float("inf"), 0
for _ in range(2):
    t0 = time.perf_counter()
    n = 0
    for item in FileReader(partial(open, path, "rb"), path.rsplit("/", 1)[-1], path).items():
        if isinstance(item, Event):
            orjson.dumps({"_id": item.id, **item.doc})
            n += 1
    best = min(best, time.perf_counter() - t0)
print(n, best)
"""


def sample(fmt: str, events: int, files: int = 1, seed: int = 1) -> list[Path]:
    folder = OUT / f"decode-{fmt}-{events}-{files}-{seed}"
    paths = sorted(folder.glob("*.log")) if folder.exists() else []
    if not paths:
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "wafpipe.cli", "generate", "--out", str(folder), "--events", str(events),
             "--files", str(files), "--format", fmt, "--compression", "gzip", "--seed", str(seed),
             "--start", "2024-06-10T00:00:00Z", "--end", "2024-06-10T01:00:00Z"],
            check=True,
        )
        paths = sorted(folder.glob("*.log"))
    return paths


def v1_worktree(path: Path) -> Path:
    if not (path / "src" / "wafpipe").is_dir():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), V1_COMMIT], check=True)
    return path


def timed(fn) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    best = float("inf")
    n = 0
    for _ in range(2):
        t0 = time.perf_counter()
        n = fn()
        best = min(best, time.perf_counter() - t0)
    return best, n


def parse_command(paths: list[Path]) -> subprocess.Popen[bytes]:
    sink = open(os.devnull, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "wafpipe.cli", "parse", *map(str, paths)], stdout=sink)


def startup() -> float:
    """Seconds of ``wafpipe parse`` on a one-event file: interpreter, imports, the user-agent
    resolver's start (best of two)."""
    (tiny,) = sample("cef", 1, files=1, seed=3)

    def one() -> int:
        if parse_command([tiny]).wait() != 0:
            raise SystemExit("wafpipe parse failed")
        return 1

    return timed(one)[0]


def run(fmt: str, events: int, v1: Path, pycef_rate: float | None) -> dict[str, float]:
    (path,) = sample(fmt, events)
    lines = [line.decode("utf-8", "replace") for line in body_lines(path)]

    def ceiling() -> int:
        return len(body_lines(path))

    def first_pass() -> int:
        check = _native.BodyCheck()
        for chunk in ImpervaFile.from_path(path).compressed_body():
            check.push(chunk)
        check.finish(None)
        return events

    def native() -> int:
        return sum(len(b) for b in read_path(path).batches())

    def parse() -> int:
        if parse_command([path]).wait() != 0:
            raise SystemExit("wafpipe parse failed")
        return events

    rates: dict[str, float] = {}
    for label, fn in (("ceiling", ceiling), ("first_pass", first_pass), ("native", native), ("parse", parse)):
        secs, n = timed(fn)
        rates[label] = n / secs
    out = subprocess.run([sys.executable, "-c", V1_RUN, str(path)], env={**os.environ, "PYTHONPATH": str(v1 / "src")},
                         check=True, capture_output=True, text=True).stdout.split()
    rates["v1"] = int(out[0]) / float(out[1])
    if fmt == "cef":
        import pycef

        sub = lines[: min(len(lines), 50_000)]

        def pycef_only() -> int:
            for line in sub:
                pycef.parse(line)
            return len(sub)

        secs, n = timed(pycef_only)
        rates["pycef"] = n / secs
    elif pycef_rate:
        rates["pycef"] = pycef_rate
    return rates


def second_worker(events: int, rounds: int) -> tuple[list[tuple[float, float]], float]:
    """events/s of two files of ``events`` each (the size of the per-format figures) parsed one
    after the other by one process, and by two processes at once, ``rounds`` times in turn (a
    single pair moved by ±15 % from run to run on a shared machine); and the start-up of one
    ``wafpipe parse`` (a one-event file), which one process pays once and two pay side by side:
    it bounds the speed-up below 2× however well the work scales."""
    paths = sample("cef", 2 * events, files=2, seed=2)
    pairs, starts = [], []
    for _ in range(rounds):
        starts.append(startup())
        t0 = time.perf_counter()
        if parse_command(paths).wait() != 0:
            raise SystemExit("wafpipe parse failed")
        one = 2 * events / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        procs = [parse_command([p]) for p in paths]
        if any(p.wait() != 0 for p in procs):
            raise SystemExit("wafpipe parse failed")
        pairs.append((one, 2 * events / (time.perf_counter() - t0)))
    return pairs, sorted(starts)[len(starts) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--formats", default="cef,leef,w3c")
    ap.add_argument("--v1", type=Path, default=Path("/tmp/wafpipe-v1"), help="worktree of version 1 (made when missing)")
    ap.add_argument("--workers-only", action="store_true", help="only the second-worker figure")
    ap.add_argument("--rounds", type=int, default=3, help="of the second-worker figure (the median is reported)")
    args = ap.parse_args()
    compile_wafpipe()
    # `make` builds the core with profile-guided optimisation where it can (native/pgo/install.sh).
    print(f"core: {_native.CORE_BUILD} build")
    if not args.workers_only:
        v1 = v1_worktree(args.v1)
        results: dict[str, dict[str, float]] = {}
        pycef_rate = None
        for fmt in args.formats.split(","):
            results[fmt] = run(fmt, args.events, v1, pycef_rate)
            pycef_rate = results[fmt].get("pycef", pycef_rate)
        print(f"{'format':6} {'ceiling/s':>10} {'pycef/s':>8} {'v1/s':>8} {'native/s':>9} {'parse/s':>8} "
              f"{'parse÷ceil':>10} {'parse÷pycef':>11} {'parse÷v1':>8} {'native÷v1':>9} {'÷cef':>5}")
        cef_parse = results.get("cef", {}).get("parse")
        for fmt, r in results.items():
            pycef = r.get("pycef")
            print(
                f"{fmt:6} {r['ceiling']:10,.0f} {pycef or 0:8,.0f} {r['v1']:8,.0f} {r['native']:9,.0f} "
                f"{r['parse']:8,.0f} {r['parse'] / r['ceiling']:10.1%} {(r['parse'] / pycef if pycef else 0):11.2f} "
                f"{r['parse'] / r['v1']:8.2f} {r['native'] / r['v1']:9.2f} "
                f"{(r['parse'] / cef_parse if cef_parse else 0):5.2f}"
            )
        start = startup()
        print(f"where parse's {args.events:,} events go, in seconds (start-up {start:.2f} s: a one-event file):")
        print(f"{'format':6} {'parse':>6} {'first pass':>10} {'rest':>6} {'at 50 % of ceiling':>18} "
              f"{'left for the rest':>17}")
        for fmt, r in results.items():
            parse, first, budget = (args.events / r[k] for k in ("parse", "first_pass", "ceiling"))
            budget *= 2
            print(f"{fmt:6} {parse:6.2f} {first:10.2f} {parse - start - first:6.2f} {budget:18.2f} "
                  f"{budget - start - first:17.2f}")
    if len(os.sched_getaffinity(0)) >= 2:
        pairs, start = second_worker(args.events, args.rounds)
        for one, two in pairs:
            print(f"parse×2 (2 files of {args.events:,} events): one process {one:,.0f}/s, two processes "
                  f"{two:,.0f}/s, {two / one:.2f}×")
        speedups = sorted(two / one for one, two in pairs)
        print(f"parse×2: median of {len(pairs)} rounds {speedups[len(speedups) // 2]:.2f}× (target ≥ 1.8×)")
        work = 2 * args.events / sorted(one for one, _ in pairs)[len(pairs) // 2] - start  # both files, less one start
        print(f"parse×2: start-up {start:.2f} s per process; the most it allows, were the work to scale "
              f"perfectly: {(start + work) / (start + work / 2):.2f}×")
    else:
        print("parse×2: skipped (pinned to one core; run with --workers-only unpinned)")


if __name__ == "__main__":
    main()
