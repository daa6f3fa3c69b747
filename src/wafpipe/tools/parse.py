"""``wafpipe parse``: files (or the Imperva files of a directory) → ECS NDJSON on stdout, problems
on stderr, optional dead letters."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO, TextIO

import orjson

from wafpipe.decode.reader import read_path
from wafpipe.tools.summary import Summary

# What ``wafpipe parse DIR`` reads in a directory: the directory source's default patterns.
IMPERVA_PATTERNS = ("*.log", "*.log.gz")


def expand(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Files as given, and each directory replaced by the Imperva files in it (``*.log``,
    ``*.log.gz``, not recursive, by name). Returns (files, messages for directories with none)."""
    files: list[Path] = []
    notes: list[str] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        try:
            found = sorted(
                {p for pattern in IMPERVA_PATTERNS for p in path.glob(pattern) if p.is_file()},
                key=lambda p: p.name,
            )
        except OSError as exc:
            notes.append(f"{path}: cannot list the directory: {exc.strerror} — hint: check permissions")
            continue
        if not found:
            notes.append(
                f"{path}: no Imperva files ({', '.join(IMPERVA_PATTERNS)}) in this directory — "
                "hint: name the files to parse"
            )
        files.extend(found)
    return files, notes


def parse_files(
    files: list[Path],
    *,
    fmt: str = "auto",
    keys_dir: Path | None = None,
    dead_letter: Path | None = None,
    summary: bool = False,
    max_line_bytes: int = 1 << 20,
    out: BinaryIO | None = None,
    err: TextIO | None = None,
) -> int:
    out = out or sys.stdout.buffer
    err = err or sys.stderr
    stats = Summary()
    dl = open(dead_letter, "ab") if dead_letter else None  # noqa: SIM115 - closed below
    clean = True
    files, notes = expand(list(files))
    for note in notes:
        err.write(note + "\n")
        clean = False
        stats.add_problem("no_files")
    try:
        for path in files:
            if not path.is_file():
                err.write(f"{path}: no such file — hint: check the path\n")
                clean = False
                stats.add_problem("missing_file")
                continue
            # The summary reads each document; otherwise the core writes the output lines itself.
            reader = read_path(path, keys_dir=keys_dir, format=fmt, max_line_bytes=max_line_bytes, ndjson=not summary)
            stats.files += 1
            try:
                for batch in reader.batches():
                    for problem in batch.problems:
                        clean = False
                        stats.add_problem(problem.kind)
                        err.write(problem.message() + "\n")
                        if dl is not None:
                            dl.write(orjson.dumps(problem.record()) + b"\n")
                    out.write(batch.ndjson())
                    if summary:
                        for doc in batch.documents or ():
                            stats.add_doc(orjson.loads(doc))
            except OSError as exc:
                clean = False
                stats.add_problem("io")
                err.write(f"{path}: cannot read: {exc.strerror} — hint: check permissions\n")
        out.flush()
    finally:
        if dl is not None:
            dl.close()
    if summary:
        stats.render(err, queries=False)
    return 0 if clean else 1
