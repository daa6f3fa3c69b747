"""A version-1 store as the other parts read it: its rows, one file, one line.

The survey and the events pass read the rows through the same SQL (:data:`ROWS`), so a row's file
key (:data:`KEY`) is the same in both; :class:`File` is one file as its rows' documents describe it
(the survey fills in what they do not say), :func:`recorded_line` one row's line (a :class:`~wafpipe.imperva.container.BodyLine`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from wafpipe.imperva.container import BodyLine

BATCH = "wafpipe_migrate"  # the name an Arrow table is registered under in a connection

# The values each version-1 row is read through (one JSON parse for all of them): the file key
# (name, path, header, format) and the line's place and bytes.
_PATHS = ("imperva.waf.file.name", "log.file.path", "imperva.waf.file.header", "imperva.waf.file.format",
          "imperva.waf.file.ordinal", "log.offset", "imperva.waf.file.partial", "imperva.waf.line_truncated",
          "event.original", "imperva.waf.original_base64")  # fmt: skip
ROWS = f"""
WITH r AS (SELECT id, doc, CASE WHEN json_valid(doc) THEN doc END AS d FROM events),
x AS (SELECT id, doc, d, json_extract_string(d, [{", ".join(f"'$.{p}'" for p in _PATHS)}]) AS v FROM r)
SELECT id, doc, d, coalesce(v[1], '') AS f_name, coalesce(v[2], '') AS f_path, coalesce(v[3], '') AS f_header,
  coalesce(v[4], '') AS f_format, TRY_CAST(v[5] AS BIGINT) AS ord, TRY_CAST(v[6] AS BIGINT) AS off,
  coalesce(v[7] = 'true', false) AS partial, v[8] IS NOT NULL AS cut, v[9] AS original, v[10] AS b64
FROM x
"""  # noqa: S608
KEY = "f_name, f_path, f_header, f_format"


@dataclass
class File:
    """One file of the version-1 store, as its rows' documents describe it."""

    fileno: int
    key: tuple[str, str, str, str]
    rows: int
    first_ordinal: int
    last_ordinal: int
    distinct: int
    partial: bool
    cut_lines: bool
    first_id: str
    block: dict[str, Any]  # the first row's ``imperva.waf.file``
    problem: str | None = None
    identity: bytes = b""
    checksum_status: str | None = None
    md5: str | None = None
    w3c_fields: list[str] | None = None

    @property
    def header(self) -> dict[str, str]:
        return self.block.get("header") or {}

    @property
    def has_header(self) -> bool:
        return "header" in self.block

    @property
    def unplaced(self) -> bool:
        """The rows whose documents name no file (or are not JSON): none can be decoded again."""
        return not self.key[0] or not self.key[3]

    def context(self, doc: dict[str, Any], ingest_ms: int) -> dict[str, Any]:
        """The replay context of a row of this file (what ``Problem.context`` holds in version 2)."""
        block = doc["imperva"]["waf"]["file"]
        ctx: dict[str, Any] = {
            "identity": self.identity.hex(), "name": block.get("name") or "", "path": self.key[1] or None,
            "format": block.get("format"), "header": self.header, "ingest_ms": ingest_ms,
        }  # fmt: skip
        if self.checksum_status is not None:
            ctx |= {"checksum_status": self.checksum_status, "partial": self.partial}
        if self.w3c_fields:
            ctx["w3c_fields"] = self.w3c_fields
        if block.get("directives"):
            ctx["directives"] = block["directives"]
        return ctx


def id_bytes(line: BodyLine) -> bytes:
    """What the event id digests (DESIGN §2): the line, a long line's head followed by its hash."""
    return line.raw + line.full_hash.encode()


def recorded_line(doc: dict[str, Any]) -> BodyLine | str:
    """The recorded line of a version-1 document, or why there is none."""
    waf = doc.get("imperva", {}).get("waf", {})
    block, original = waf.get("file") or {}, doc.get("event", {}).get("original")
    if not isinstance(original, str):
        return "the version 1 document holds no event.original"
    if not isinstance(block.get("ordinal"), int):
        return "the version 1 document does not say which file line it came from"
    raw = base64.b64decode(waf["original_base64"]) if waf.get("original_base64") else original.encode()
    cut = waf.get("line_truncated") or {}
    return BodyLine(block["ordinal"], int(block.get("line") or 0), int(doc.get("log", {}).get("offset") or 0), raw,
                int(cut.get("length") or 0), str(cut.get("sha256") or ""))  # fmt: skip


def odd(exc: Exception) -> str:
    return f"the version 1 document has an unexpected shape ({type(exc).__name__}: {exc})"
