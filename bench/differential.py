"""Differential benchmark: the native core against version 1, line by line. Figures, and exit 1
when a difference is found.

Version 1 is wafpipe at commit ``c5e40ee`` (pure Python), read from a git worktree (``--v1``,
created with ``git worktree add <path> c5e40ee`` when missing, as ``bench/collector.py
--baseline`` explains) in a subprocess with ``PYTHONPATH=<worktree>/src``: it writes its output
(per file: each event's id, document and raw typed values; each problem) to files. This process
reads the same files with this checkout's core (``wafpipe.decode.reader.read_path(...).batches()``)
and compares, document by document, id by id, problem by problem, after applying the intended
differences (``tests/native/version1/transformations.py``, :data:`TRANSFORMATIONS`) to version 1's output. Both
sides use the same ingest time (:data:`tests.native.version1.NOW`).

Inputs (``--lines``, default 1,000,000 body lines in all):

* ``generated``: ``wafpipe generate`` in every format × body compression × ``--gzip-file``,
  several files and seeds each; ``encrypted``: the same encrypted for a fresh ``--keygen`` pair;
* ``bad-input``: ``--bad-input`` sets (checksum mismatch, cut body, broken lines, long line…);
* ``headerless``: generated bodies without their Imperva header (ids from the first event line),
  and ``w3c-directives``: W3C bodies one after another, so directives recur mid-file;
* ``hostile``: lines meeting every intended difference (``version1.hostile_files``). A body
  damaged mid-stream is not compared here: the core keeps the events before the fault that
  version 1 lost (none to compare them with); ``tests/native/test_version1.py`` checks them
  against the intact file;
* ``peer``: the peer vectors of ``../shared/conformance`` in CEF, LEEF and headerless files, and
  Elastic's whole Imperva file;
* ``hypothesis-{cef,leef,w3c}``: lines drawn (seeded) from the strategies of
  ``tests/native/version1/inputs.py``, in files declaring their format.

Two processes: version 1's worker decodes while this one generates, then reads with the core
and compares as each output is ready.

Run: ``.venv/bin/python bench/differential.py [--v1 /tmp/wp/v1] [--lines N] [--work DIR]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.native import version1 as v1  # noqa: E402

START = datetime(2024, 6, 10, 0, 0, tzinfo=UTC)
END = datetime(2024, 6, 10, 6, 0, tzinfo=UTC)
FORMATS = ("cef", "leef", "w3c")
COMPRESSIONS = ("zlib", "gzip", "none")
SHOWN = 5  # differences printed in full


class Jobs:
    """The inputs, grouped in jobs for version 1's worker, submitted as soon as they are written."""

    def __init__(self, work: Path, worker: v1.Version1) -> None:
        self.work = work
        self.worker = worker
        self.jobs: list[tuple[Path, Path | None]] = []

    def add(self, source: str, paths: list[Path], keys_dir: Path | None = None) -> None:
        out = self.work / "out" / f"{len(self.jobs):03d}-{source}.ndjson.gz"
        out.parent.mkdir(parents=True, exist_ok=True)
        self.worker.submit(out, [(source, str(p)) for p in paths], keys_dir)
        self.jobs.append((out, keys_dir))


def generate(jobs: Jobs, lines: int, conformance: Path | None) -> None:
    from wafpipe.tools.generate import generate_files, keygen

    work = jobs.work / "in"
    per_combo = max(4, int(lines * 0.84) // (len(FORMATS) * len(COMPRESSIONS) * 2))
    seed = 100
    for fmt in FORMATS:
        for compression in COMPRESSIONS:
            for gzip_file in (False, True):
                seed += 1
                out = work / f"generated-{fmt}-{compression}-{'gz' if gzip_file else 'plain'}"
                paths = generate_files(out, events=per_combo, files=4, fmt=fmt, compression=compression,
                                       gzip_file=gzip_file, attack_ratio=0.3, start=START, end=END, seed=seed)  # fmt: skip
                jobs.add("generated", paths)
    keys = work / "keys"
    public = keygen(keys, "1")
    per_fmt = max(2, int(lines * 0.03) // len(FORMATS))
    for i, fmt in enumerate(FORMATS):
        paths = generate_files(work / f"encrypted-{fmt}", events=per_fmt, files=2, fmt=fmt,
                               compression=COMPRESSIONS[i], gzip_file=i == 1, encrypt=public, start=START,
                               end=END, seed=200 + i)  # fmt: skip
        jobs.add("encrypted", paths, keys)
    for fmt in FORMATS:
        for s in range(4):
            paths = generate_files(work / f"bad-{fmt}-{s}", events=300, files=1, fmt=fmt,
                                   compression=COMPRESSIONS[s % 3], start=START, end=END, seed=300 + s,
                                   bad_input=True)  # fmt: skip
            jobs.add("bad-input", paths)
    headerless, directives = [], []
    for fmt in FORMATS:
        body = v1.plain_body(sorted((work / f"generated-{fmt}-none-plain").iterdir())[0])
        headerless.append(v1.write_imperva_file(work / "headerless" / f"{fmt}.log", body))
        headerless.append(
            v1.write_imperva_file(work / "headerless" / f"{fmt}-zlib.log", body, compression="zlib")
        )
    w3c = [v1.plain_body(p) for p in sorted((work / "generated-w3c-zlib-plain").iterdir())]
    joined = b"".join(w3c)
    directives.append(v1.write_imperva_file(work / "directives" / "w3c-headerless.log", joined))
    header = {**v1.DEFAULT_HEADER, "format": "W3C"}
    directives.append(v1.write_imperva_file(work / "directives" / "4242_1.log", joined, header=header))
    jobs.add("headerless", headerless)
    jobs.add("hostile", v1.hostile_files(work / "hostile"))
    jobs.add("w3c-directives", directives)
    if conformance is not None:
        jobs.add("peer", v1.peer_files(conformance, work / "peer"))
    per_fmt_lines = max(50, int(lines * 0.03) // len(FORMATS))
    for i, fmt in enumerate(FORMATS):
        drawn: list[str] = []
        seed = 500 + 10 * i
        while len(drawn) < per_fmt_lines:
            drawn += v1.draw_lines(fmt, 200, seed)
            seed += 1
        paths = []
        step = 2000
        for n, at in enumerate(range(0, len(drawn), step)):
            header = {**v1.DEFAULT_HEADER, "format": fmt.upper()}
            path = work / f"hypothesis-{fmt}" / f"4242_{10 + n}.log"
            body = v1.lines_body(drawn[at : at + step])
            paths.append(v1.write_imperva_file(path, body, header=header, compression=COMPRESSIONS[n % 3]))
        jobs.add(f"hypothesis-{fmt}", paths)


def report(result: v1.Comparison, seconds: dict[str, float]) -> int:
    total = result.total
    head = f"{'source':<18} {'files':>6} {'lines':>10} {'events':>10} {'problems':>9} {'differ':>7}"
    print("\n" + head + f" {'inexact':>9} {'v1 crash':>9}")
    for name, t in [*sorted(result.tallies.items()), ("total", total)]:
        inexact = f"{t.inexact_differing}/{t.inexact}"
        print(
            f"{name:<18} {t.files:>6} {t.lines:>10,} {t.events:>10,} {t.problems:>9,} {t.differences:>7,}"
            f" {inexact:>9} {t.version1_crashed:>9}"
        )
    print(
        "\nlines: non-empty body lines version 1 read; inexact: lines a transformation could not express"
        "\nexactly (differing/all; compared, listed apart); v1 crash: lines version 1 raised on (not comparable)"
    )
    print("\nintended differences applied (transformations of version 1's output, per event):")
    for t in [*v1.TRANSFORMATIONS, *v1.PROBLEM_TRANSFORMATIONS]:
        name = t.__name__
        per = ", ".join(
            f"{s} {n.applied[name]:,}" for s, n in sorted(result.tallies.items()) if n.applied[name]
        )
        print(f"  {name:<32} {total.applied[name]:>10,}" + (f"   ({per})" if per else ""))
    print("\ntime: " + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()))
    if result.crashes:
        print(
            f"\nlines version 1 crashed on (first {min(SHOWN, len(result.crashes))} of {total.version1_crashed}):"
        )
        for d in result.crashes[:SHOWN]:
            print(d.render())
    if result.inexact:
        print(
            f"\ninexact lines that differ (first {min(SHOWN, len(result.inexact))} of {total.inexact_differing}):"
        )
        for d in result.inexact[:SHOWN]:
            print(d.render())
    if total.differences:
        print(f"\nDIFFERENCES: {total.differences:,}, of {len(result.kinds)} kinds (count, what differs):")
        for kind, n in result.kinds.most_common():
            print(f"  {n:>9,}  {kind}")
        print(f"\nthe first {min(SHOWN, len(result.differences))} in full:")
        for d in result.differences[:SHOWN]:
            print(d.render())
        print("\nthe first of each kind:")
        for d in result.first_of_kind.values():
            print(d.render())
        return 1
    print(
        "\nno difference: the core gives version 1's ids, documents and problems, intended differences aside"
    )
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--v1", type=Path, default=Path("/tmp/wp/v1"), help="worktree of version 1 (created if missing)"
    )
    ap.add_argument("--lines", type=int, default=1_000_000, help="body lines in all (about)")
    ap.add_argument("--work", type=Path, help="folder for inputs and outputs (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the inputs and version 1's outputs")
    args = ap.parse_args()
    if not args.v1.exists():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", str(args.v1), v1.VERSION1_COMMIT], check=True
        )
    src = v1.version1_src(args.v1)
    os.environ["WAFPIPE_NOW"] = v1.NOW
    work = args.work or Path(tempfile.mkdtemp(prefix="wafpipe-differential-"))
    shutil.rmtree(work / "in", ignore_errors=True)
    shutil.rmtree(work / "out", ignore_errors=True)
    conformance = Path(os.environ.get("WAFPIPE_CONFORMANCE_DIR", ROOT.parent / "shared" / "conformance"))
    started = time.perf_counter()
    worker = v1.Version1(src)
    jobs = Jobs(work, worker)
    result = v1.Comparison(keep=20)
    seconds: dict[str, float] = {}
    try:
        generate(jobs, args.lines, conformance if conformance.is_dir() else None)
        seconds["generating inputs"] = time.perf_counter() - started
        waited = compared = 0.0
        for n, (out, keys_dir) in enumerate(jobs.jobs, 1):
            print(f"comparing {n}/{len(jobs.jobs)}: {out.name}", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            worker.wait(out)
            t1 = time.perf_counter()
            v1.compare_records(v1.read_records(out), result, keys_dir)
            waited, compared = waited + t1 - t0, compared + time.perf_counter() - t1
            if not args.keep:
                out.unlink()
        seconds["waiting for version 1"] = waited
        seconds["core + comparison"] = compared
    finally:
        worker.close()
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    seconds["total"] = time.perf_counter() - started
    if not conformance.is_dir():
        print(f"peer vectors not found at {conformance}: the peer source was skipped")
    return report(result, seconds)


if __name__ == "__main__":
    sys.exit(main())
