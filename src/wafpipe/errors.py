"""The exception hierarchy.

Every message says what went wrong, where (file, line, byte offset, column when known) and how to
fix it, so that a user reading a log line or a dead-letter record can act without reading code.
"""

from __future__ import annotations


class WafpipeError(Exception):
    """Base of every error wafpipe raises on purpose."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

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
