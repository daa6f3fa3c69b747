"""``make run``: the demo data set (generated once), ingested, and a summary (DESIGN §4).

The data set mixes every format and compression, one encrypted file (with its key pair) and one
gzip-wrapped file, so a first look at wafpipe exercises the whole container.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEMO_END = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

# (format, compression, gzip-wrapped, encrypted, events, seed)
DEMO_SET = (
    ("cef", "zlib", False, False, 4000, 11),
    ("cef", "gzip", True, False, 1500, 12),
    ("leef", "zlib", False, False, 1500, 13),
    ("w3c", "none", False, False, 1500, 14),
    ("cef", "zlib", False, True, 1000, 15),
)


def build_demo(directory: Path) -> tuple[Path, Path]:
    """Create ``incoming/`` and ``keys/`` under ``directory`` unless they already exist."""
    from wafpipe.tools.generate import generate_files, keygen

    incoming = directory / "incoming"
    keys = directory / "keys"
    marker = directory / ".generated"
    if marker.exists():
        return incoming, keys
    incoming.mkdir(parents=True, exist_ok=True)
    public = keygen(keys, "1")
    for i, (fmt, compression, wrapped, encrypted, events, seed) in enumerate(DEMO_SET):
        end = DEMO_END - timedelta(hours=i)
        generate_files(
            incoming,
            events=events,
            files=2,
            fmt=fmt,
            compression=compression,
            gzip_file=wrapped,
            encrypt=public if encrypted else None,
            public_key_id="1",
            attack_ratio=0.25,
            start=end - timedelta(hours=1),
            end=end,
            seed=seed,
            bad_input=False,
        )
    marker.write_text("generated once; delete this directory to start over\n")
    return incoming, keys


def run_demo(directory: Path) -> int:
    from wafpipe.reader import Problem, read_path
    from wafpipe.summary import Summary

    incoming, keys = build_demo(directory)
    stats = Summary()
    for path in sorted(p for p in incoming.iterdir() if p.is_file()):
        stats.files += 1
        reader = read_path(path, keys_dir=keys)
        for item in reader.items():
            if isinstance(item, Problem):
                stats.add_problem(item.kind)
                print(item.message(), file=sys.stderr)
            else:
                stats.add_doc(item.doc)
    print(f"demo data: {incoming} (keys: {keys})")
    stats.render(sys.stdout)
    return 0 if not stats.problems else 1
