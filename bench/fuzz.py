"""Fuzz the native core: write the corpus seeds, run each cargo-fuzz target, report.

    python bench/fuzz.py seed             # (re)write native/fuzz/corpus/<target>/ from generated files
    python bench/fuzz.py run [--minutes 10] [--targets cef,leef,w3c,body,file]

``run`` needs the nightly toolchain and cargo-fuzz (``cargo install cargo-fuzz``); it prints, per
target, executions, crashes, timeouts and out-of-memory events from libFuzzer's own summary.
Seeds are committed; ``make test`` replays them through ``native/tests/fuzz_seeds.rs``.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUZZ = ROOT / "native" / "fuzz"
TARGETS = ("cef", "leef", "w3c", "body", "file")
sys.path.insert(0, str(ROOT / "src"))


def _write(target: str, data: bytes) -> None:
    out = FUZZ / "corpus" / target
    out.mkdir(parents=True, exist_ok=True)
    (out / hashlib.sha1(data).hexdigest()).write_bytes(data)


def seed() -> None:
    from bodylines import body_lines
    from wafpipe.tools.generate import generate_files

    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("cef", "leef", "w3c"):
            for bad in (False, True):
                paths = generate_files(Path(tmp) / f"{fmt}{bad}", events=40, files=1, fmt=fmt, seed=5,
                                       attack_ratio=0.5, bad_input=bad)
                for path in paths:
                    try:
                        lines = body_lines(path)
                    except Exception:  # a container the reader refuses: its bytes still seed the body target
                        lines = []
                    body = path.read_bytes().split(b"|==|", 1)[-1].lstrip(b"\n")
                    _write("body", body[:4096])
                    text = b"\n".join(lines[:12])
                    _write("body", zlib.compress(text))
                    _write("file", zlib.compress(text))
                    _write("file", text)
                    if fmt == "w3c":
                        _write("w3c", text)
                    else:
                        for line in lines[:12]:
                            _write(fmt, line)
    print(f"seeds written under {FUZZ / 'corpus'}")


def run(minutes: float, targets: list[str]) -> int:
    worst = 0
    for target in targets:
        corpus = FUZZ / "corpus" / target
        work = Path(tempfile.mkdtemp(prefix=f"fuzz-{target}-"))
        cmd = ["cargo", "+nightly", "fuzz", "run", target, str(work), str(corpus), "--",
               f"-max_total_time={int(minutes * 60)}", "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1"]
        proc = subprocess.run(cmd, cwd=FUZZ.parent, capture_output=True, text=True)
        log = proc.stdout + proc.stderr
        execs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", log)
        crashed = "deadly signal" in log or "panicked" in log
        timeout = "ERROR: libFuzzer: timeout" in log
        oom = "out-of-memory" in log
        print(f"{target}: {execs[-1] if execs else '?'} executions in {minutes:g} min; "
              f"crash={crashed} timeout={timeout} oom={oom} (exit {proc.returncode})")
        if proc.returncode:
            worst = proc.returncode
            print(log[-4000:])
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("seed")
    r = sub.add_parser("run")
    r.add_argument("--minutes", type=float, default=10)
    r.add_argument("--targets", default=",".join(TARGETS))
    args = parser.parse_args()
    if args.cmd == "seed":
        seed()
        return 0
    return run(args.minutes, args.targets.split(","))


if __name__ == "__main__":
    raise SystemExit(main())
