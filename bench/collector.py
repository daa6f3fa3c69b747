"""Collector benchmark (the collector issue's speed section). Figures, not assertions.

* a generated backlog (default 1 M events, CEF/zlib in 20 files) → ``wafpipe run --once`` into
  DuckDB, events/s end to end with 1 and with 2 decode workers (each into a fresh store);
* peak RSS of the whole process tree (collector + decode workers) while ingesting one big file
  (default ~100 MB and ~1 GB of decoded body), sampled from /proc every 50 ms.

* ``--baseline SRC``: the same backlog ingested by another checkout's ``src`` (e.g. the previous
  version, ``git worktree add /tmp/v1 <commit>``) in the same run, interleaved, so a restructure's
  effect is measured on one machine state: "before" and "after" side by side.

Run: ``.venv/bin/python bench/collector.py [--events N] [--big-mb 100,1000] [--baseline SRC]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out" / "collector"
START = datetime(2024, 6, 10, 0, 0, tzinfo=UTC)
END = datetime(2024, 6, 10, 6, 0, tzinfo=UTC)


def tree_rss(pid: int) -> int:
    """RSS in bytes of ``pid`` and every descendant."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            ppid = int(fields[1])
            pages = int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def ingest(root: Path, workers: int, incoming: Path, src: str | None = None) -> tuple[float, int]:
    """Seconds for ``run --once`` and the peak RSS of its process tree."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    cfg = root / "wafpipe.toml"
    cfg.write_text(
        f'data_dir = "data"\n[[sources]]\ntype = "directory"\npath = "{incoming}"\n'
        f'[[sinks]]\ntype = "duckdb"\n[pipeline]\nworkers = {workers}\n'
    )
    cfg.chmod(0o600)
    peak = 0
    t0 = time.perf_counter()
    env = {**os.environ, **({"PYTHONPATH": src} if src else {})}
    proc = subprocess.Popen([sys.executable, "-m", "wafpipe.cli", "run", "-c", str(cfg), "--once"], cwd=root, env=env)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.05)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    proc.wait()
    elapsed = time.perf_counter() - t0
    done.set()
    t.join()
    if proc.returncode != 0:
        raise SystemExit(f"run --once exited {proc.returncode}")
    return elapsed, peak


def generate(folder: Path, events: int, files: int) -> None:
    if folder.exists() and any(folder.iterdir()):
        return
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "wafpipe.cli", "generate", "--out", str(folder), "--events", str(events),
         "--files", str(files), "--format", "cef", "--compression", "zlib", "--seed", "3",
         "--start", START.isoformat(), "--end", END.isoformat()],
        check=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--big-mb", default="100,1000", help="decoded sizes of the single-file RSS runs")
    ap.add_argument("--baseline", help="another checkout's src directory, measured in the same run")
    args = ap.parse_args()
    backlog = OUT / f"backlog-{args.events}" / "incoming"
    generate(backlog, args.events, 20)
    rates = {}
    versions = [("this", None)] + ([("baseline", args.baseline)] if args.baseline else [])
    for workers in (1, 2):
        for label, src in versions:
            secs, peak = ingest(OUT / f"run-{label}-w{workers}", workers, backlog, src)
            rates[label, workers] = args.events / secs
            print(f"{label:8} backlog {args.events:,} events, {workers} worker(s): {secs:6.1f} s, "
                  f"{rates[label, workers]:9,.0f} events/s, peak RSS {peak / 2**20:6.0f} MiB", flush=True)
    print(f"2 workers ÷ 1 worker: {rates['this', 2] / rates['this', 1]:.2f}×")
    if args.baseline:
        for workers in (1, 2):
            print(f"{workers} worker(s): this ÷ baseline {rates['this', workers] / rates['baseline', workers]:.2f}×")
    for mb in (int(x) for x in args.big_mb.split(",") if x):
        events = mb * 1_000_000 // 1100  # ~1.1 kB per decoded CEF line
        folder = OUT / f"big-{mb}MB" / "incoming"
        generate(folder, events, 1)
        secs, peak = ingest(OUT / f"big-run-{mb}", 2, folder)
        print(f"one file of ~{mb} MB ({events:,} events): {secs:6.1f} s, peak RSS {peak / 2**20:6.0f} MiB",
              flush=True)


if __name__ == "__main__":
    main()
