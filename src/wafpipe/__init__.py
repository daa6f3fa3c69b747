"""wafpipe: Imperva Cloud WAF logs → ECS, exactly once.

The library's public face is small and pinned by a test (``tests/test_public_api.py``):

* :func:`parse_file` — one Imperva log file (any compression, encrypted with ``keys_dir``) →
  :class:`Event` s and :class:`Problem` s, exactly as the collector decodes it;
* the types every stage shares (:class:`Batch`, :class:`Event`, :class:`FileInfo`,
  :class:`FileRef`, :class:`Problem`);
* the exception hierarchy, rooted at :class:`WafpipeError`.

Everything else (collector, sinks, store) is driven through the ``wafpipe`` command.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from wafpipe.errors import (
    CompressionError,
    ConfigError,
    ContainerError,
    DecodeError,
    DecryptError,
    MissingKeyError,
    QueryError,
    SinkError,
    WafpipeError,
)
from wafpipe.model import Batch, Event, FileInfo, FileRef, Problem

try:
    __version__ = version("wafpipe")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"


def parse_file(
    path: str | Path,
    *,
    keys_dir: str | Path | None = None,
    format: str = "auto",
    max_line_bytes: int = 1 << 20,
) -> Iterator[Event | Problem]:
    """Decode one Imperva log file: its events (with their deterministic ids) and its problems, in
    line order. Bad input never raises: each fault is a :class:`Problem` and the good lines around
    it still come out."""
    from wafpipe.decode.reader import read_path

    reader = read_path(
        path, keys_dir=Path(keys_dir) if keys_dir else None, format=format, max_line_bytes=max_line_bytes
    )
    yield from reader.items()


__all__ = [
    "Batch",
    "CompressionError",
    "ConfigError",
    "ContainerError",
    "DecodeError",
    "DecryptError",
    "Event",
    "FileInfo",
    "FileRef",
    "MissingKeyError",
    "Problem",
    "QueryError",
    "SinkError",
    "WafpipeError",
    "__version__",
    "parse_file",
]
