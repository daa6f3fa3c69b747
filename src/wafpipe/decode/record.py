"""The one thing every decoder returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class RawRecord:
    """One decoded event line, before any ECS mapping.

    ``ext`` holds canonical (lower-case, CEF-spelled) Imperva keys → raw text values, whichever
    format the line came in, so one field table maps all three formats. Repeated keys keep the
    first non-empty value in ``ext`` and every value in ``dups``. ``warnings`` lists what was
    tolerated on this line (an unescaped ``=`` kept in a value, non-UTF-8 bytes replaced…): the
    record is complete but flagged.
    """

    format: str  # "cef" | "leef" | "w3c"
    ext: dict[str, str]
    vendor: str | None = None
    product: str | None = None
    version: str | None = None  # device/product version from the header
    signature: str | None = None  # CEF Signature ID (deviceEventClassId)
    name: str | None = None  # CEF Name / LEEF Event ID / W3C cs-rule
    severity: str | None = None  # CEF severity slot: for Imperva the rule-type id
    format_version: str | None = None  # "0" of CEF:0, "1.0"/"2.0"/"0" of LEEF
    syslog_prefix: str | None = None
    dups: dict[str, list[str]] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def is_imperva(self) -> bool:
        return self.vendor == "Incapsula" or self.format == "w3c"


NON_UTF8_WARNING = "line is not valid UTF-8; undecodable bytes replaced with U+FFFD"


def utf8_text(raw: bytes) -> tuple[str, bool]:
    """The line as text, and whether undecodable bytes had to be replaced (DESIGN §7: kept, warned)."""
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), True
