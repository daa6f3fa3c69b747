"""Decode benchmark (the core issue's speed section). Not a test: figures, not assertions.

For each format it generates ``--events`` events into one gzip-compressed file (seed 1, fixed
time range, so every run measures the same bytes) and measures, in this one run:

* ceiling — strip the header, decompress, split lines (our container, nothing else);
* pycef — PyPI's ``pycef.parse`` on the same lines (CEF only; the baseline the issue names);
* decode — our decoder only (line → RawRecord);
* full — decode + ECS mapping + NDJSON serialisation (what ``wafpipe parse`` does per line).

Ratios are reported against the ceiling and against pycef, measured in the same run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import orjson

from wafpipe.decode.detect import make_decoder
from wafpipe.decode.reader import read_path
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

    def decode_only() -> int:
        dec = make_decoder(fmt)
        n = 0
        for line in lines:
            if dec.decode(line) is not None:
                n += 1
        return n

    def full() -> int:
        n = 0
        for item in read_path(path).items():
            if isinstance(item, Event):
                orjson.dumps({"_id": item.id, **item.doc})
                n += 1
        return n

    rates: dict[str, float] = {}
    for label, fn in (("ceiling", ceiling), ("decode", decode_only), ("full", full)):
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
    print(f"{'format':6} {'ceiling/s':>11} {'pycef/s':>9} {'decode/s':>10} {'full/s':>9} "
          f"{'full÷pycef':>10} {'full÷ceiling':>12} {'full÷cef':>9}")
    cef_full = results.get("cef", {}).get("full")
    for fmt, r in results.items():
        pycef = r.get("pycef")
        print(
            f"{fmt:6} {r['ceiling']:11,.0f} {pycef or 0:9,.0f} {r['decode']:10,.0f} {r['full']:9,.0f} "
            f"{(r['full'] / pycef if pycef else 0):10.2f} {r['full'] / r['ceiling']:12.1%} "
            f"{(r['full'] / cef_full if cef_full else 0):9.2f}"
        )


if __name__ == "__main__":
    main()
