"""Structured logging: human text on a terminal, one JSON object per line for log shippers.

Data in log lines is escaped (:func:`escape`): a file name, a header value or a line of an event
comes from whoever delivered the file, and a newline in it must not forge a log line, nor an escape
sequence (``ESC]52;…`` sets the clipboard of some terminals) reach the terminal of the person
reading the log. Both formatters escape the message they print; code that builds a message from
data also calls :func:`escape` on the data itself, so the line is safe whichever handler prints it.
Tracebacks are not data and keep their lines.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time

# Every C0 control (tab too: it can hide text), DEL, the C1 controls, and the Unicode line and
# paragraph separators and bidirectional marks and overrides that some viewers honour. The one list
# of what data may not put on a terminal or in a log line (``wafpipe query`` escapes the same set).
_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029)
CONTROL_CODEPOINTS: tuple[int, ...] = (*range(0x00, 0x20), *range(0x7F, 0xA0), *_BIDI)
_CONTROL = re.compile("[" + "".join(re.escape(chr(c)) for c in CONTROL_CODEPOINTS) + "]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _one(match: re.Match[str]) -> str:
    ch = match.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape(value: object) -> str:
    """``value`` as text with every control character written as a visible escape (``\\n``,
    ``\\x1b``, ``\\u2028``). Backslashes are left alone: the aim is that data can neither end a
    log line nor drive a terminal, and paths stay readable."""
    text = value if isinstance(value, str) else str(value)
    return _CONTROL.sub(_one, text) if _CONTROL.search(text) else text


class TextFormatter(logging.Formatter):
    """``%(asctime)s %(levelname)s %(name)s: %(message)s`` with the message escaped."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = escape(record.message)
        return super().formatMessage(record)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": escape(record.getMessage()),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(fmt: str = "text", level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("wafpipe")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def log_through(stream: object) -> list[tuple[logging.StreamHandler[object], object]]:
    """Point wafpipe's stderr log handlers at ``stream`` (e.g. rich's proxy, so log lines print above
    a progress bar); returns the (handler, old stream) pairs to restore with ``setStream``."""
    swapped: list[tuple[logging.StreamHandler[object], object]] = []
    for handler in logging.getLogger("wafpipe").handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            swapped.append((handler, handler.setStream(stream)))
    return swapped
