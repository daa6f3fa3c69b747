"""The exception hierarchy.

Every message says what went wrong, where (file, line, byte offset, column when known) and how to
fix it, so that a user reading a log line or a dead-letter record can act without reading code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# ``scheme://user:password@`` — everything between ``://`` and the last ``@`` of the authority.
_USERINFO = re.compile(r"(?<=://)[^/?#\s]*@")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` without credentials inside URLs (``https://***@host``) and without any of ``secrets``.

    The one redaction of wafpipe: every error message (below), configuration error, ``elastic
    setup`` line and log line passes through it, so a password written into a URL in ``hosts`` or
    ``[kibana] url`` is never echoed."""
    text = _USERINFO.sub("***@", text)
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


class WafpipeError(Exception):
    """Base of every error wafpipe raises on purpose. Its message and hint are redacted
    (:func:`redact`): an error can never carry credentials written into a URL."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(redact(message))
        if hint is not None:
            self.hint = redact(hint)

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} (hint: {self.hint})" if self.hint else base


class ConfigError(WafpipeError):
    """The configuration cannot be used; exit code 2."""


class ContainerError(WafpipeError):
    """The Imperva file wrapper (header, compression, encryption) cannot be read past some point."""

    kind = "container"


class CompressionError(ContainerError):
    kind = "compression"


class BombError(CompressionError):
    """The body inflates past ``max_output_bytes`` or ``max_ratio``: a decompression bomb (DESIGN §7),
    stopped at the bound; the events before it are kept and the file is quarantined."""

    kind = "bomb"


class DecryptError(ContainerError):
    kind = "decrypt"


class MissingKeyError(DecryptError):
    kind = "missing_key"


class DecodeError(WafpipeError):
    """One event line does not decode. ``column`` is 1-based, 0 when unknown."""

    kind = "decode"

    def __init__(self, reason: str, *, column: int = 0, hint: str | None = None) -> None:
        super().__init__(reason, hint=hint)
        self.reason = reason
        self.column = column


class SinkError(WafpipeError):
    """A sink could not make a batch durable."""


class QueryError(WafpipeError):
    """A query expression does not parse; ``column`` points at the failing character (1-based)."""

    def __init__(self, message: str, *, column: int = 0, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.column = column
