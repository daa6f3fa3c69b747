"""The types every stage shares, one form each (DESIGN §1).

Nothing here imports a stage: sources, decoders, sinks, the store and the collector all import
this module, never each other, to agree on what a file, a problem and a component are.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import orjson
import pyarrow as pa
from pydantic import BaseModel

from wafpipe._native import ndjson as _ndjson  # the module, not the package: model imports no stage
from wafpipe.errors import ContainerError


@dataclass
class Problem:
    """One thing wrong with the input, shaped for a message, a counter and a dead-letter record."""

    kind: str  # decode | checksum | compression | decrypt | missing_key | container | not_imperva | cut_line | empty | io | sink_rejected | …
    file: str
    reason: str
    hint: str = ""
    line: int | None = None  # 1-based line in the decoded body
    offset: int | None = None  # byte offset of the line in the decoded body
    column: int | None = None  # 1-based column in the line
    ordinal: int | None = None  # the line's ordinal (resume point and dead-letter identity)
    raw: bytes | None = None
    fatal_to_file: bool = False  # the rest of the file could not be read
    event_id: str | None = None  # for a rejected event: its id (the raw bytes are its document)
    sink: str | None = None  # for a rejected event: the sink that refused it
    # What replay needs to decode the line again exactly as ingest did (file identity, name, path,
    # format, header, W3C columns and directives…): see wafpipe.decode.reader.decode_known_line.
    context: dict[str, Any] | None = None

    def message(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        details = []
        if self.offset is not None:
            details.append(f"byte offset {self.offset}")
        if self.column:
            details.append(f"column {self.column}")
        loc = f" ({', '.join(details)})" if details else ""
        hint = f" — hint: {self.hint}" if self.hint else ""
        return f"{where}{loc}: {self.kind}: {self.reason}{hint}"

    def record(self) -> dict[str, object]:
        """The dead-letter record (raw bytes as text with replacement, plus their length)."""
        out: dict[str, object] = {
            "kind": self.kind,
            "ordinal": self.ordinal,
            "file": self.file,
            "line": self.line,
            "offset": self.offset,
            "column": self.column,
            "reason": self.reason,
            "hint": self.hint,
        }
        if self.event_id is not None:
            out["id"] = self.event_id
        if self.sink is not None:
            out["sink"] = self.sink
        if self.raw is not None:
            out["raw"] = self.raw.decode("utf-8", "replace")
            out["raw_bytes"] = len(self.raw)
            if out["raw"].encode() != self.raw:  # not UTF-8: the exact bytes too, for replay
                out["raw_base64"] = base64.b64encode(self.raw).decode("ascii")
        if self.context is not None:
            out["context"] = self.context
        return out


@dataclass
class FileInfo:
    """What the container says about a file; filled as the file is read. These are the facts of
    the file, kept once per file (:meth:`facts` → the state's files table), not on every event
    (DESIGN §1: an event carries only the per-event file fields)."""

    name: str
    header: dict[str, str] = field(default_factory=dict)  # lower-case names
    header_names: dict[str, str] = field(default_factory=dict)  # lower → spelling in the file
    has_header: bool = False
    gzip_wrapped: bool = False
    compression: str = "none"  # zlib | gzip | deflate | none (the body's first stream)
    encrypted: bool = False
    identity: bytes = b""
    checksum: str | None = None
    checksum_status: str = "pending"  # ok | mismatch | absent | incomplete
    computed_md5: str | None = None
    body_bytes: int = 0
    lines: int = 0
    api_id: str | None = None
    seq: int | None = None
    format: str | None = None  # cef | leef | w3c, once known
    directives: list[tuple[str, str]] = field(default_factory=list)  # W3C `#Name: value` lines
    w3c_fields: list[str] = field(default_factory=list)  # W3C columns (the last `#Fields` line)
    error: ContainerError | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        return self.error is not None

    def facts(self) -> dict[str, Any]:
        """The file's facts as JSON-ready values (the header without its wrapped session ``key``)."""
        return {
            "name": self.name,
            "identity": self.identity.hex() if self.identity else None,
            "format": self.format,
            "header": {k: v for k, v in self.header.items() if k != "key"},
            "api_id": self.api_id,
            "sequence": self.seq,
            "compression": self.compression,
            "encrypted": self.encrypted,
            "gzip_wrapped": self.gzip_wrapped,
            "directives": dict(self.directives),
            "w3c_fields": self.w3c_fields,
            "checksum_status": self.checksum_status,
            "md5": self.computed_md5,
            "decoded_bytes": self.body_bytes,
            "lines": self.lines,
            "partial": self.partial,
        }


@dataclass(frozen=True)
class FileRef:
    """One file ready to be decoded, as it crosses to a decode worker: a local path (a file in a
    landing directory, or a remote object already fetched atomically into a bounded spool) plus
    what identifies the delivery. Acknowledging it is the source's job (``Source.ack(ref)``), after
    every sink holds its events; nothing here is a callable, so it pickles."""

    source: str  # the source's name
    name: str  # the file name as delivered (e.g. 1234_56.log)
    path: str  # where a worker reads it
    size: int
    mtime_ns: int
    key: str  # the state's key of this delivery (source, path, size, mtime)


@dataclass
class Batch:
    """One slice of one file, decoded: the unit every sink writes and the collector acknowledges
    (DESIGN §1).

    ``events`` is an Arrow record batch: ``_id`` and the ECS columns as nested structs, typed by the
    schema generated from the field table (:mod:`wafpipe.fields.arrow`), ``event.original`` inside.
    ``documents`` are the same events as JSON documents (without ``_id``), present only when a sink
    asks for them. ``first_ordinal``/``next_ordinal`` bound the lines this batch covers: once every
    sink holds it, the file resumes at ``next_ordinal``. ``problems`` are those met in these lines;
    the last batch of a file carries ``info`` (the container's verdict) and ``final``.
    """

    file_key: str
    events: pa.RecordBatch
    documents: list[bytes] | None = None
    first_ordinal: int = 0
    next_ordinal: int = 0
    problems: list[Problem] = field(default_factory=list)
    final: bool = False
    info: FileInfo | None = None
    format: str | None = None  # the detected event format (on the final batch)
    error: str | None = None  # an I/O error that stopped the file (permission, vanished)
    # True when the events are one read of one file, lines first_ordinal..next_ordinal in order
    # (a decode worker's Batch): the embedded store's ledger can then vouch for them by ordinal.
    # False for events gathered otherwise (dead-letter replay, tools), which it checks id by id.
    file_read: bool = False
    # What the single-event detections found in these events (the decode worker runs them, see
    # wafpipe.detect.batch): JSON records, written as alerts with the Batch's checkpoint.
    findings: list[dict[str, Any]] = field(default_factory=list)
    # Values the redaction replaced in these events, by rule (wafpipe.enrich.redaction): counted
    # where it happens, in the decode worker, and by the collector's metrics.
    redacted: dict[str, int] = field(default_factory=dict)
    # The local file the events were read from, on the final Batch of a file read from one: the
    # archive sink keeps it byte for byte (it is still there: the source moves it only after every
    # sink holds the Batch).
    path: str | None = None
    # The events as NDJSON lines with their ids, when the reader was asked for them instead of
    # columns and documents (``FileReader.ndjson``: ``wafpipe parse``, which writes nothing else);
    # ``events`` then has no rows: the core builds no columns nobody reads. A view of the core's
    # own buffer, not a copy.
    lines: memoryview | None = None

    def __len__(self) -> int:
        return self.events.num_rows

    @property
    def ids(self) -> list[str]:
        return self.events.column(0).to_pylist()

    def ndjson(self) -> bytes | memoryview:
        """The events as NDJSON lines, ``_id`` first, each ending in a newline (``wafpipe parse``):
        the core's documents as they are, the id spliced in front (ids are URL-safe base64, which
        JSON never escapes), written by the core into one buffer per Batch (:attr:`lines`)."""
        if self.lines is not None:
            return self.lines
        if not self.documents:
            return b""
        return _ndjson(self.ids, self.documents)

ConfigT = TypeVar("ConfigT", bound=BaseModel)

# A remote source's health record in the state is the component ``source:<name>``: the source
# writes it, /api/health and /metrics read it.
SOURCE_HEALTH_PREFIX = "source:"


class StateRecorder(Protocol):
    """What a component may record in the collector's state: dead letters, its health, a cursor
    (any JSON value, by component name), whether a delivery is finished, and for the Imperva API
    source its processed names and the gaps it sees."""

    def add_dead_letters(self, records: list[dict[str, Any]]) -> Any: ...

    def set_health(self, component: str, **fields: Any) -> None: ...

    def api_processed_add(self, source: str, names: Iterable[str]) -> int: ...

    def api_processed_trim(self, source: str, still_listed: Iterable[str]) -> int: ...

    def api_processed_list(self, source: str) -> set[str]: ...

    def api_waiting_replace(self, source: str, names: Iterable[str]) -> set[str]: ...

    def add_gap(self, kind: str, source: str, detail: str, start_ms: int | None = None,
                end_ms: int | None = None) -> None: ...

    def file_end_ms(self, source: str, name: str) -> int | None: ...

    def file_done(self, key: str) -> bool: ...

    def sink_cursor_get(self, sink: str) -> Any | None: ...

    def sink_cursor_set(self, sink: str, cursor: Any) -> None: ...


@dataclass
class Context:
    """What a component may use besides its own table: given to every ``build(config, context)``.

    ``state`` is the collector's state database (None outside a collector, e.g. ``elastic setup``);
    ``on_source_problem`` receives a source's per-file problems so the collector counts them.
    ``keep_raw_files`` is False when redaction forbids keeping files as received (their values
    unredacted): a sink that would copy original files (the archive) leaves them out.
    """

    data_dir: Path
    state: StateRecorder | None = None
    on_source_problem: Callable[[Any], None] | None = None
    keep_raw_files: bool = True


@dataclass(frozen=True)
class Component(Generic[ConfigT]):
    """One source or sink type: the model of its ``[[sources]]``/``[[sinks]]`` table and the function
    that builds its runner. A registry maps ``type`` to these; a type that is not registered is not
    accepted by the configuration."""

    type: str
    config: type[ConfigT]
    build: Callable[[ConfigT, Context], Any]


class Event:
    """One ECS document and its deterministic id (DESIGN §2), as the Python decoder yields it one at a
    time (``wafpipe parse``, dead-letter replay, tests). ``doc`` never holds ``_id``. ``json`` is the
    serialised document when it is already known (read back from a store), so it is not serialised
    twice. The collector moves events in :class:`Batch` es, never one by one."""

    __slots__ = ("id", "_doc", "json")

    def __init__(self, id: str, doc: dict[str, Any] | None, json: bytes | None = None) -> None:
        self.id = id
        self._doc = doc
        self.json = json

    @property
    def doc(self) -> dict[str, Any]:
        if self._doc is None:
            self._doc = orjson.loads(self.json or b"{}")
        return self._doc

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and other.id == self.id and other.doc == self.doc

    def __repr__(self) -> str:
        return f"Event(id={self.id!r})"


class StateView(Protocol):
    """What the read side may ask of the collector's state (DESIGN §4 ``files``, ``dead_letters``,
    ``health``). ``store/`` must not import the collector, so it names the methods it uses here;
    :class:`wafpipe.collector.state.State` has them. Records are dataclasses or mappings."""

    def list_files(
        self, status: str | None = None, source: str | None = None, limit: int = 1000, checksum: str | None = None
    ) -> list[Any]: ...

    def file_status_counts(self) -> dict[str, int]: ...

    def checksum_mismatches(self) -> int: ...

    def list_dead_letters(
        self, limit: int = 100, kind: str | None = None, *, include_replayed: bool = False
    ) -> list[Any]: ...

    def count_dead_letters(self, kind: str | None = None, *, include_replayed: bool = False) -> int: ...

    def list_alerts(self, limit: int = 100, *, include_acknowledged: bool = False) -> list[Any]: ...

    def health(self) -> dict[str, Any]: ...

    def gaps(self) -> list[Any]: ...

    def newest_header_end_ms(self) -> int | None: ...
