"""Quarantine: keep a copy of a file that could not be processed, with the reason beside it.

A bad file (checksum mismatch, corrupt compression, wrong key…) is copied, not moved, to
``<data_dir>/quarantine/<UTC time>_<safe name>`` so a person can inspect it even after the source
acknowledged (deleted or moved) the original; ``src`` is a path or an opener, for sources without a
local path. ``<that>.reason.json`` beside it holds the reason, the size and SHA-256 of the copy and
any details. Nothing is ever overwritten: names are claimed with ``O_EXCL`` (a numeric suffix on
collision), and the copy is fsync'd before the reason is written, so a reason file always describes
a complete copy. The name goes through :func:`safe_file_name`: source names (an SFTP listing, an API
index) are not trusted to stay inside the directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import IO, Any

from wafpipe.config.files import create_private, private_dir
from wafpipe.errors import WafpipeError


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
) -> Path:
    """Copy ``src`` (a path or an opener) into ``qdir`` with its ``.reason.json``; return the copy."""
    if callable(src):
        opener, label = src, name or "unnamed"
    else:
        opener, label = partial(Path(src).open, "rb"), name or Path(src).name
    private_dir(qdir)
    stamp, safe = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), safe_file_name(label)
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
        with os.fdopen(fd, "wb") as out, opener() as inp:
            while chunk := inp.read(1 << 20):
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
        **dict(details or {}),
    }
    with os.fdopen(create_private(note), "w", encoding="utf-8") as fh:  # 0600 like the copy
        json.dump(info, fh, indent=2, default=str)
    return target
