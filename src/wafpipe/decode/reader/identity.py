"""A file's identity before it is read (DESIGN §2), so that a file already read resumes after its
last stored line instead of being decoded again.

A file with an Imperva header is known by the digest of its header lines, read from its first
bytes (before any key is needed). A headerless file is known by its first *event* line: the core
reads the body only as far as that line (one chunk, usually) and stops.
"""

from __future__ import annotations

from pathlib import Path

from wafpipe import _native
from wafpipe.enrich.useragent import parse_user_agent
from wafpipe.errors import ContainerError
from wafpipe.imperva.container import ImpervaFile


def file_identity(path: Path | str, keys_dir: Path | None = None) -> tuple[bytes, bool] | None:
    """``(identity, has_header)`` of the file at ``path``; None when it has none to give (a
    container fault, no event line, not an Imperva log: the read that follows reports why).
    OSError propagates."""
    container = ImpervaFile.from_path(path, keys_dir=keys_dir)
    try:
        body = container.compressed_body()
        if container.info.has_header:
            return container.info.identity, True
        run = _native.FileRun(name=container.info.name, batch_rows=1, documents=False, user_agent=parse_user_agent)
        for chunk in body:
            run.push(chunk)  # stops at the first event, whose line is the identity
            if run.identity is not None:
                return run.identity, False
            if run.not_imperva is not None:
                return None
        while not run.finished and run.identity is None:
            run.finish()
    except ContainerError:
        return None
    return (run.identity, False) if run.identity is not None else None
