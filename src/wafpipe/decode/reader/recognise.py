"""Recognising what a file that is not an Imperva log looks like, for one clear message per file."""

from __future__ import annotations

import re

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

NOT_IMPERVA_HINT = (
    "if this is not an Imperva log, narrow the source's patterns (or remove the file) so it is not "
    "collected; if it is one, check that it is complete and not another program's output"
)


def shown(raw: bytes, limit: int = 80) -> str:
    """A line as safe, short text for a message (control characters escaped)."""
    text = raw[: limit * 4].decode("utf-8", "replace")
    text = text.encode("unicode_escape").decode("ascii") if CONTROL.search(text) else text
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


def is_binary(sample: bytes) -> bool:
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    text = sum(1 for c in sample if 32 <= c < 127 or c in (9, 10, 13) or c >= 0x80)
    return text < 0.85 * len(sample) or sample.decode("utf-8", "replace").count("\ufffd") > len(sample) // 8


_ACCESS_LOG = re.compile(rb'^\S+ \S+ \S+ \[[^\]]{10,40}\] "')
_SYSLOG = re.compile(rb"^(<\d{1,3}>|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d )")


def looks_like(first: bytes) -> str:
    """What a line that is not CEF, LEEF or W3C looks like, for the ``not_imperva`` message."""
    if is_binary(first[:512]):
        return "binary data"
    if _ACCESS_LOG.match(first):
        return "a web server access log (Apache/nginx format)"
    stripped = first.lstrip()
    if stripped.startswith((b"{", b"[")):
        return "JSON"
    if _SYSLOG.match(first):
        return "a syslog log without CEF/LEEF content"
    return "text in another format"


