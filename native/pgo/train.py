"""The workload the core's build profile is counted on (profile-guided optimisation; see
``native/pgo/install.sh``).

The optimiser lays out and inlines code by what this run executes, and treats what it never
executes as cold. So it reads what the product reads, in each way the product asks: every format,
each body compression, files with Imperva's quirks and broken input, headerless files, and each
output (NDJSON lines for ``wafpipe parse``, Arrow columns for the collector, columns with JSON
documents for the cluster sinks). The events are generated with fixed seeds, so every build
counts the same work.

Run by the build with the instrumented core installed: ``python native/pgo/train.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from wafpipe.decode.reader import read_path
from wafpipe.tools.generate import generate_files

FORMATS = ("cef", "leef", "w3c")
# (body compression, events): gzip, as Imperva's files come, carries most of the work.
BODIES = (("gzip", 12_000), ("zlib", 3_000), ("none", 2_000))
# (reader keywords, passes): parse's NDJSON lines and the collector's columns are the hot paths.
OUTPUTS = (({"ndjson": True}, 2), ({"documents": False}, 2), ({"documents": True}, 1))


def sample_files(folder: Path) -> list[Path]:
    """Good files of every format and compression, the broken ones, and headerless ones."""
    paths: list[Path] = []
    for seed, fmt in enumerate(FORMATS, start=1):
        for compression, events in BODIES:
            paths += generate_files(folder / f"{fmt}-{compression}", events=events, fmt=fmt,
                                    compression=compression, seed=seed)
        paths += generate_files(folder / f"{fmt}-bad", events=1_500, fmt=fmt, seed=seed, bad_input=True)
        for path in generate_files(folder / f"{fmt}-plain", events=500, fmt=fmt, compression="none", seed=seed):
            headerless = path.with_name("headerless-" + path.name)
            text = path.read_bytes()
            headerless.write_bytes(text.split(b"|==|\n", 1)[-1])  # the body without its header
            paths.append(headerless)
    return paths


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="wafpipe-pgo-") as tmp:
        paths = sample_files(Path(tmp))
        events = 0
        for keywords, passes in OUTPUTS:
            for _ in range(passes):
                for path in paths:
                    reader = read_path(path, **keywords)
                    for _batch in reader.batches():
                        pass
                    events += reader.events
    print(f"native/pgo/train.py: {len(paths)} files read, {events} events", file=sys.stderr)
    return 0 if events else 1


if __name__ == "__main__":
    raise SystemExit(main())
