"""Decode benchmark (the core issue's speed section). Not a test: figures, not assertions.

For each format it generates ``--events`` events into one gzip-compressed file (seed 1, fixed
time range, so every run measures the same bytes) and measures, in this one run:

* ceiling — strip the header, decompress, split lines (Python's zlib, nothing else);
* pycef — PyPI's ``pycef.parse`` on the same lines (CEF only; the baseline the issue names);
* v1 — version 1's Python path (decoders + ECS mapping + NDJSON), kept as the core's oracle;
* native — the native core: the file to Batches with their NDJSON documents;
* parse — ``wafpipe parse FILE > /dev/null`` as a whole command (start-up included).

Ratios are reported against the ceiling, pycef and v1, measured in the same run. Pin it to one
core (``taskset -c 0``) for the ratios the issue asks for.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import orjson

from wafpipe.decode.reader import FileReader, read_path
from wafpipe.imperva.container import ImpervaFile
from wafpipe.model import Event

OUT = Path(__file__).resolve().parent / "out"


def sample(fmt: str, events: int) -> Path:
    folder = OUT / f"decode-{fmt}-{events}"
    files = sorted(folder.glob("*.log")) if folder.exists() else []
    if not files:
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "wafpipe.cli", "generate", "--out", str(folder), "--events", str(events),
             "--files", "1", "--format", fmt, "--compression", "gzip", "--seed", "1",
             "--start", "2024-06-10T00:00:00Z", "--end", "2024-06-10T01:00:00Z"],
            check=True,
        )
        files = sorted(folder.glob("*.log"))
    return files[0]


def timed(fn) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    best = float("inf")
    n = 0
    for _ in range(2):
        t0 = time.perf_counter()
        n = fn()
        best = min(best, time.perf_counter() - t0)
    return best, n


def run(fmt: str, events: int, pycef_rate: float | None) -> dict[str, float]:
    path = sample(fmt, events)
    lines = [bl.raw.decode("utf-8", "replace") for bl in ImpervaFile.from_path(path).lines()]

    def ceiling() -> int:
        return sum(1 for _ in ImpervaFile.from_path(path).lines())

    def v1() -> int:
        n = 0
        for item in FileReader(partial(open, path, "rb"), path.name, str(path)).items():
            if isinstance(item, Event):
                orjson.dumps({"_id": item.id, **item.doc})
                n += 1
        return n

    def native() -> int:
        return sum(len(b) for b in read_path(path).batches())

    def parse() -> int:
        with open(os.devnull, "wb") as sink:
            subprocess.run([sys.executable, "-m", "wafpipe.cli", "parse", str(path)], stdout=sink, check=True)
        return events

    rates: dict[str, float] = {}
    for label, fn in (("ceiling", ceiling), ("v1", v1), ("native", native), ("parse", parse)):
        secs, n = timed(fn)
        rates[label] = n / secs
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--formats", default="cef,leef,w3c")
    args = ap.parse_args()
    results: dict[str, dict[str, float]] = {}
    pycef_rate = None
    for fmt in args.formats.split(","):
        results[fmt] = run(fmt, args.events, pycef_rate)
        pycef_rate = results[fmt].get("pycef", pycef_rate)
    print(f"{'format':6} {'ceiling/s':>10} {'pycef/s':>8} {'v1/s':>8} {'native/s':>9} {'parse/s':>8} "
          f"{'parse÷ceil':>10} {'parse÷pycef':>11} {'parse÷v1':>8} {'native÷v1':>9} {'÷cef':>5}")
    cef_parse = results.get("cef", {}).get("parse")
    for fmt, r in results.items():
        pycef = r.get("pycef")
        print(
            f"{fmt:6} {r['ceiling']:10,.0f} {pycef or 0:8,.0f} {r['v1']:8,.0f} {r['native']:9,.0f} {r['parse']:8,.0f} "
            f"{r['parse'] / r['ceiling']:10.1%} {(r['parse'] / pycef if pycef else 0):11.2f} "
            f"{r['parse'] / r['v1']:8.2f} {r['native'] / r['v1']:9.2f} "
            f"{(r['parse'] / cef_parse if cef_parse else 0):5.2f}"
        )


if __name__ == "__main__":
    main()
