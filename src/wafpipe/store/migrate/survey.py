"""What the version-1 documents do not say about each file, found before any event is written.

Two SQL passes over the rows: one groups them by file key (:func:`survey_files`), then each file's
identity is proven by its first row's id, its W3C columns chosen and the first part of its checksum
verdict settled (``_resolve``, with version 1's ``state.sqlite``: :class:`State`); the other
rebuilds the bodies whose MD5 may prove ``ok`` (``_prove_checksums``). Why each is needed and what
counts as proof: :mod:`wafpipe.store.migrate`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from wafpipe import _native
from wafpipe.fields.keys import IMPERVA_W3C_COLUMNS
from wafpipe.imperva.container import BodyLine
from wafpipe.imperva.ids import header_identity
from wafpipe.store.migrate.replay import Runs, replay
from wafpipe.store.migrate.version1 import BATCH, KEY, ROWS, File, id_bytes, odd, recorded_line

# How Imperva spells its header names (version 1 kept them lower-cased; docs/formats.md "Header":
# its documentation and its files differ on some). Every combination is tried, and proven by an id.
HEADER_SPELLINGS = {
    "accountid": ("accountId", "accountID"), "configid": ("configId", "configID"), "checksum": ("checksum",),
    "format": ("format",), "starttime": ("startTime",), "endtime": ("endTime",),
    "publickeyid": ("publicKeyId", "publicKeyID"), "key": ("key",),
}  # fmt: skip
_W3C_ANCHORS = ("@timestamp", "source.ip", "imperva.waf.site.id")  # where wrong columns would show

_SURVEY = f"""
SELECT {KEY}, count(*), min(ord), max(ord), count(DISTINCT ord), bool_or(partial), bool_or(cut),
  arg_min(id, ord), arg_min(d, ord)
FROM ({ROWS}) GROUP BY ALL
"""  # noqa: S608
_BODIES = f"""
SELECT m.fileno, r.ord, r.off, r.original, r.b64 FROM ({ROWS}) r JOIN {BATCH} m USING ({KEY})
ORDER BY m.fileno, r.ord
"""  # noqa: S608


def _leaf(doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


@dataclass
class State:
    """What version 1's state recorded about its files: identities by file name, and the statuses of
    the reads of each file (by identity, and by name and path: a headerless file's identity was
    another digest then). A read stopped by a container fault stayed ``quarantined``; every other
    read, a checksum mismatch included, ended ``done``."""

    by_name: dict[str, set[bytes]] = field(default_factory=dict)
    statuses: dict[bytes | tuple[str, str], set[str]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path | None) -> State:
        out = cls()
        if path is None or not Path(path).is_file():
            return out
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                rows = con.execute("SELECT name, path, identity, status FROM files").fetchall()
            finally:
                con.close()
        except sqlite3.Error:
            return out
        for name, where, identity, status in rows:
            out.statuses.setdefault((str(name), str(where or "")), set()).add(str(status))
            with contextlib.suppress(ValueError, TypeError):
                digest = bytes.fromhex(identity)
                out.by_name.setdefault(str(name), set()).add(digest)
                out.statuses.setdefault(digest, set()).add(str(status))
        return out

    def partial(self, f: File) -> bool:
        """Whether every read of the file version 1 recorded broke off (none ended ``done``)."""
        key = f.identity if f.has_header else (f.block.get("name") or "", f.key[1])
        return self.statuses.get(key, set()) == {"quarantined"}


def _identity(f: File, line: BodyLine, known: State) -> bytes | None:
    """The file's identity, proven by the first row's id (why and how: the package docstring)."""
    if not f.has_header:
        return bytes(_native.headerless_identity(line.raw))
    spellings = itertools.product(*(dict.fromkeys((*HEADER_SPELLINGS.get(k, ()), k)) for k in f.header))
    rebuilt = (header_identity([f"{n}:{v}".encode() for n, v in zip(names, f.header.values(), strict=True)])
               for names in spellings)  # fmt: skip
    for candidate in itertools.chain(rebuilt, sorted(known.by_name.get(f.block.get("name") or "", ()))):
        if _native.event_id(candidate, line.ordinal, id_bytes(line)) == f.first_id:
            return candidate
    return None


def _resolve(f: File, first: dict[str, Any], known: State) -> None:
    """Identity, W3C columns and the first part of the checksum verdict from the file's first row
    (``first``, its version-1 document); or the file's problem."""
    if f.unplaced:
        f.problem = "the version 1 documents do not name their file"  # (each row says why: events._unplaced)
        return
    line = recorded_line(first)
    if isinstance(line, str):
        f.problem = line
        return
    identity = _identity(f, line, known)
    if identity is None:
        f.problem = ("the file's identity could not be recovered: version 1 did not keep its header whole "
                     "(an encrypted file's key line) and no state recorded it; run again with --state "
                     "<version 1 data_dir>/state.sqlite")  # fmt: skip
        return
    f.identity = identity
    f.partial = f.partial or known.partial(f)
    if f.key[3] == "w3c" and not any("field" in k for k in f.header):
        f.w3c_fields = list(IMPERVA_W3C_COLUMNS)
        document, why = replay(Runs(), f, first, line)
        new = orjson.loads(document) if document else {}
        if why is not None or any(_leaf(new, a) != _leaf(first, a) for a in _W3C_ANCHORS):
            f.problem = ("version 1 did not record this W3C file's #Fields line, and Imperva's columns do not "
                         "fit its lines")  # fmt: skip
            return
    if f.partial:
        f.checksum_status = "incomplete"
    elif f.has_header and not str(f.header.get("checksum") or "").strip():
        f.checksum_status = "absent"


def _provable(f: File) -> bool:
    """Whether the stored lines may rebuild the whole body (then its MD5 can prove ``ok``)."""
    first = len(f.block.get("directives") or {}) + 1 if f.key[3] == "w3c" else 0
    every_line = f.first_ordinal == first and f.distinct == f.rows == f.last_ordinal - f.first_ordinal + 1
    return not f.problem and f.has_header and f.checksum_status is None and not f.cut_lines and every_line


def _prove_checksums(old: duckdb.DuckDBPyConnection, files: list[File]) -> None:
    """MD5 of each provable file's body, rebuilt from its lines in order (why: the package docstring)."""
    todo = {f.fileno: f for f in files if _provable(f)}
    if not todo:
        return
    keys = list(zip(*[(*f.key, n) for n, f in todo.items()], strict=True))
    old.register(BATCH, pa.table(dict(zip([*KEY.split(", "), "fileno"], keys, strict=True))))
    try:
        reader = old.sql(_BODIES).to_arrow_reader(10_000)
        current, md5, end = None, hashlib.md5(usedforsecurity=False), 0
        for batch in reader:
            for fileno, ordinal, offset, original, b64 in zip(*batch.to_pydict().values(), strict=True):
                f = todo[fileno]
                if fileno != current:
                    _settle(todo.get(current), md5, end)
                    current, md5 = fileno, hashlib.md5(usedforsecurity=False)
                    prefix = _w3c_prefix(f)
                    end = len(prefix) if offset == len(prefix) else -1
                    md5.update(prefix)
                if end < 0 or original is None:
                    end = -1
                    continue
                raw = base64.b64decode(b64) if b64 else original.encode()
                gap = offset - end  # the previous line's ending: "\n" or "\r\n", nothing between
                if ordinal != f.first_ordinal and gap not in (1, 2):
                    end = -1
                    continue
                md5.update(b"\r\n"[2 - gap :] if ordinal != f.first_ordinal else b"")
                md5.update(raw)
                end = offset + len(raw)
        _settle(todo.get(current), md5, end)
    finally:
        old.unregister(BATCH)


def _w3c_prefix(f: File) -> bytes:
    if f.key[3] != "w3c":
        return b""
    directives = [f"#{k}: {v}" for k, v in (f.block.get("directives") or {}).items()]
    return "\n".join([*directives, "#Fields: " + " ".join(f.w3c_fields or [])]).encode() + b"\n"


def _settle(f: File | None, md5: Any, end: int) -> None:
    if f is None or end < 0:
        return
    want = str(f.header.get("checksum") or "").strip().lower()
    for ending in (b"\n", b"", b"\r\n"):
        whole = md5.copy()
        whole.update(ending)
        if whole.hexdigest() == want:
            f.checksum_status, f.md5 = "ok", want
            return


def survey_files(old: duckdb.DuckDBPyConnection, known: State) -> list[File]:
    """Every file of the version-1 store, with what its documents do not say found, or its problem."""
    files: list[File] = []
    for batch in old.sql(_SURVEY).to_arrow_reader(1000):
        for row in zip(*batch.to_pydict().values(), strict=True):
            *key, rows, lo, hi, distinct, partial, cut, first_id, first_doc = row
            f = File(len(files), tuple(key), rows, lo or 0, hi or 0,  # type: ignore[arg-type]
                     distinct, bool(partial), bool(cut), first_id, {})  # fmt: skip
            files.append(f)
            try:
                first = orjson.loads(first_doc) if first_doc else {}
                f.block = (first["imperva"]["waf"]["file"] or {}) if key[0] else {}
                _resolve(f, first, known)
            except (KeyError, TypeError, AttributeError, ValueError) as exc:
                f.problem = odd(exc)
    _prove_checksums(old, files)
    return files
