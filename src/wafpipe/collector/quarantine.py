"""Quarantine: keep a copy of a file that could not be processed, with the reason beside it.

A bad file (checksum mismatch, corrupt compression, wrong key…) is copied, not moved, to
``<data_dir>/quarantine/<UTC time>_<safe name>`` so a person can inspect it even after the source
acknowledged (deleted or moved) the original; ``src`` is a path or an opener, for sources without a
local path. ``<that>.reason.json`` beside it holds the reason, the size and SHA-256 of the copy and
any details. Nothing is ever overwritten: names are claimed with ``O_EXCL`` (a numeric suffix on
collision), and the copy is fsync'd before the reason is written, so a reason file always describes
a complete copy. The name goes through :func:`safe_file_name`: source names (an SFTP listing, an API
index) are not trusted to stay inside the directory.

Under redaction (``[redaction]`` with ``keep_raw = false``) a file as received would keep the card
numbers and secrets the rest of the pipeline removes, so :func:`redacted_rendering` writes what
could be read of it instead: the header, then the body inflated as far as it inflates, every line
redacted, uncompressed, as ``<name>.redacted``; ``.reason.json`` keeps the original's size and
SHA-256. An encrypted file is kept as it is: its ciphertext shows nothing without the key, and a
file waiting for its key is read again from this copy.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import IO, Any

from wafpipe.config.files import create_private, private_dir
from wafpipe.errors import CompressionError, WafpipeError
from wafpipe.imperva.compression import detect_compression, inflate_streams

MAX_RENDERED_BYTES = 64 << 20  # a redacted rendering stops here (a bomb's inflated body is not kept)
SEPARATOR = b"|==|"
HEADER_MAX = 64 * 1024


def safe_file_name(name: str) -> str:
    """A name that cannot escape its directory or hide: [A-Za-z0-9._-], no leading dot, ≤ 150 chars."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name.replace("\\", "/").rsplit("/", 1)[-1]).lstrip(".")
    return (cleaned or "unnamed")[:150]


def copy_to_quarantine(
    qdir: Path,
    src: Path | str | Callable[[], IO[bytes]],
    reason: str,
    *,
    name: str | None = None,
    key: str | None = None,
    details: Mapping[str, Any] | None = None,
    render: Callable[[Callable[[], IO[bytes]]], tuple[bytes, dict[str, Any]]] | None = None,
) -> Path:
    """Copy ``src`` (a path or an opener) into ``qdir`` with its ``.reason.json``; return the copy.
    With ``render``, what is kept is ``render(opener)``'s bytes (a redacted rendering), and its
    facts go into the reason file."""
    if callable(src):
        opener, label = src, name or "unnamed"
    else:
        opener, label = partial(Path(src).open, "rb"), name or Path(src).name
    private_dir(qdir)
    stamp, safe = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), safe_file_name(label)
    rendered: tuple[bytes, dict[str, Any]] | None = None
    if render is not None:
        rendered = render(opener)
        safe = safe[:140] + ".redacted"
    for i in range(1, 10_000):
        target = qdir / (f"{stamp}_{safe}" if i == 1 else f"{stamp}-{i}_{safe}")
        note = target.with_name(target.name + ".reason.json")
        if note.exists():
            continue
        try:
            fd = create_private(target)
        except FileExistsError:
            continue
        break
    else:
        raise WafpipeError(f"cannot find a free quarantine name for {label} in {qdir}")
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in _chunks(opener) if rendered is None else [rendered[0]]:
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    info = {
        "original": str(src) if not callable(src) else label,
        "reason": reason,
        "file_key": key,
        "quarantined_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "size": size,
        "sha256": digest.hexdigest(),
        **(rendered[1] if rendered is not None else {}),
        **dict(details or {}),
    }
    with os.fdopen(create_private(note), "w", encoding="utf-8") as fh:  # 0600 like the copy
        json.dump(info, fh, indent=2, default=str)
    return target


def rendering(redactor: Any | None, info: Any | None) -> Callable[[Callable[[], IO[bytes]]], tuple[bytes, dict[str, Any]]] | None:
    """How a quarantined file is kept: as received (None) when there is no ``redactor`` (no
    redaction, or raw copies allowed) or the file is encrypted (its ciphertext shows nothing, and a
    file waiting for its key is read again from the copy); else as its redacted rendering."""
    if redactor is None or (info is not None and info.encrypted):
        return None
    return partial(redacted_rendering, redact_line=redactor.line)


def _chunks(opener: Callable[[], IO[bytes]]) -> Iterator[bytes]:
    with opener() as inp:
        while chunk := inp.read(1 << 20):
            yield chunk


def redacted_rendering(
    opener: Callable[[], IO[bytes]], redact_line: Callable[[bytes], bytes], max_bytes: int = MAX_RENDERED_BYTES
) -> tuple[bytes, dict[str, Any]]:
    """What can be read of a file, every line through ``redact_line``, and the facts of the
    original (size, SHA-256, how far it could be read) for its reason file. The file is read as a
    stream: at most ``max_bytes`` of text are kept, however large it is or inflates to."""
    digest, size, notes = hashlib.sha256(), 0, []
    with opener() as inp:

        def raw() -> Iterator[bytes]:
            nonlocal size
            while chunk := inp.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
                yield chunk

        stream = raw()
        text = _layer(stream, notes, only="gzip")  # a whole file wrapped in gzip
        head = b""
        for chunk in text:  # the header, up to the line after |==| (none: the whole file is body)
            head += chunk
            if SEPARATOR in head[:HEADER_MAX] or len(head) >= HEADER_MAX:
                break
        at = head.find(SEPARATOR, 0, HEADER_MAX)
        header, rest = (head[: at + len(SEPARATOR)], head[at + len(SEPARATOR):]) if at >= 0 else (b"", head)
        if header and rest[:1] == b"\n":
            header, rest = header + b"\n", rest[1:]
        kept, body = 0, []
        for chunk in _layer(itertools.chain([rest], text), notes):
            body.append(chunk[: max_bytes - kept])
            kept += len(body[-1])
            if kept >= max_bytes:
                notes.append(f"only the first {max_bytes} bytes of the body are kept")
                break
        for _ in stream:  # the rest is hashed, not kept
            pass
    lines = (header + b"".join(body)).splitlines(keepends=True)
    facts = {"redacted": True, "original_size": size, "original_sha256": digest.hexdigest(),
             "notes": notes or ["the whole file was read"]}
    return b"".join(redact_line(line) for line in lines), facts


def _layer(chunks: Iterator[bytes], notes: list[str], only: str | None = None) -> Iterator[bytes]:
    """``chunks`` inflated when they start a compressed stream (of kind ``only``, when given), as
    far as they inflate; as they are otherwise."""
    first = b""
    for first in chunks:  # the first bytes there are (a header may end where a chunk does)
        if first:
            break
    kind = detect_compression(first[:64])
    rest = itertools.chain([first], chunks)
    if kind == "none" or (only is not None and kind != only):
        yield from rest
        return
    try:
        yield from inflate_streams(rest, kind, "quarantine", notes)
    except CompressionError as exc:
        notes.append(f"the {kind} data could be inflated only in part: {exc}; the rest is not kept")
