"""How a decoded Batch crosses from a decode worker to the main process: Arrow IPC, never a pickled
Batch (DESIGN §1, issue 20).

Why. The main process must only append: it writes every Batch to the sinks and commits, so what it
spends per event bounds the whole collector. Pickling a Batch made it rebuild the record batch and,
with documents, one ``bytes`` object per event; reading a pipe message with
:meth:`~multiprocessing.connection.Connection.recv_bytes` copies it through a growing
``io.BytesIO``. Measured on Batches of 2000 events (5.3 MB of columns, 7 MB of documents):
unpickling took 1.8 ms (3.3 ms with documents), reading the IPC stream back 0.13 ms, zero copy;
``recv_bytes`` took 4.5–5 ms of CPU per message, reading it straight into one Arrow buffer 1 ms.
On a 200 000-event backlog into DuckDB, the main thread's work outside the sink fell from 7.8 to
2.6 µs per event; what is left is mostly the kernel's copy of the message out of the socket.

One message per Batch, integers little-endian::

    b"WPB1" | u32 header length | header | pad to 8 | events stream | pad to 8 | documents stream

* **header**: the per-Batch values (task id, file key, ordinal range, final, format, I/O error,
  ``file_read``, problems, the file's :class:`~wafpipe.model.FileInfo`) and the byte length of each
  stream, pickled. They are per Batch (problems per bad line), never per event, and hold an
  exception (``FileInfo.error``) that only pickle carries as it is.
* **events**: the record batch as one Arrow IPC stream; the parent maps it without copying (the
  stream starts 8-byte aligned in a 64-byte aligned buffer, as Arrow wants).
* **documents**, only when the worker rendered them (a sink asked, :attr:`Task.documents`): one
  IPC stream of one ``large_binary`` column (64-bit offsets: a Batch of large events never
  overflows). The parent makes :attr:`Batch.documents` from it in one call (``to_pylist``:
  0.4 µs per document), only for the sinks that need it; a DuckDB-only collector never has any.

Framing. The worker writes ``Connection.send_bytes``'s frame (serialising straight into the pipe,
:func:`send`); :func:`receive` reads that frame (a
4-byte big-endian length, or -1 and an 8-byte one past 2 GiB: multiprocessing's wire format) from
the connection's descriptor into one buffer allocated at the right size. A worker killed mid-send
leaves a short frame, and a frame that does not add up is refused: both are a
:class:`TransportError`, which the pool treats as a dead worker (its file is read again from its
last acknowledged ordinal).
"""

from __future__ import annotations

import os
import pickle
import struct
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import pyarrow as pa

from wafpipe.model import Batch

MAGIC = b"WPB1"
_PREFIX = struct.Struct("<4sI")  # magic, header length
_ALIGN = 8
_DOCUMENTS = pa.schema([pa.field("document", pa.large_binary(), nullable=False)])
_FRAME = struct.Struct("!i")  # multiprocessing.connection's length prefix
_LONG_FRAME = struct.Struct("!Q")  # … after a -1 prefix, for messages of 2 GiB and more
_MAX_SHORT = 0x7FFFFFFF  # the largest length the short prefix carries


class TransportError(Exception):
    """A Batch message that cannot be read: cut short (``torn``: the worker died while sending it)
    or malformed (a bug, or a worker of another version)."""

    def __init__(self, message: str, *, torn: bool = False) -> None:
        super().__init__(message)
        self.torn = torn


def _pad(n: int) -> int:
    return -n % _ALIGN


def _stream_size(schema: pa.Schema, batch: pa.RecordBatch) -> int:
    """The bytes of ``batch`` as one IPC stream, counted without writing them anywhere."""
    counter = pa.MockOutputStream()
    _write_stream(counter, schema, batch)
    return int(counter.size())


def _write_stream(out: pa.NativeFile, schema: pa.Schema, batch: pa.RecordBatch) -> None:
    with pa.ipc.new_stream(out, schema) as writer:
        writer.write_batch(batch)


@dataclass(frozen=True)
class _Message:
    """One Batch's message, sized but not yet written: the sizes go in the header (and the frame's
    prefix) before the streams are written, so a worker writes them straight into the pipe
    (:func:`send`) without first serialising the Batch into a buffer of its own size."""

    head: bytes  # prefix, header, padding to 8
    events: pa.RecordBatch
    events_size: int
    documents: pa.RecordBatch | None
    documents_size: int

    @property
    def size(self) -> int:
        end = len(self.head) + self.events_size
        return end if self.documents is None else end + _pad(self.events_size) + self.documents_size

    def write(self, out: pa.NativeFile) -> None:
        out.write(self.head)
        _write_stream(out, self.events.schema, self.events)
        if self.documents is not None:
            out.write(b"\0" * _pad(self.events_size))
            _write_stream(out, _DOCUMENTS, self.documents)


def _message(task_id: int, batch: Batch) -> _Message:
    documents = None
    if batch.documents is not None:
        column = pa.array(batch.documents, pa.large_binary())
        documents = pa.record_batch([column], schema=_DOCUMENTS)
    events_size = _stream_size(batch.events.schema, batch.events)
    documents_size = 0 if documents is None else _stream_size(_DOCUMENTS, documents)
    header = pickle.dumps(
        {
            "task_id": task_id,
            "file_key": batch.file_key,
            "first_ordinal": batch.first_ordinal,
            "next_ordinal": batch.next_ordinal,
            "final": batch.final,
            "format": batch.format,
            "error": batch.error,
            "file_read": batch.file_read,
            "findings": batch.findings,
            "redacted": batch.redacted,
            "path": batch.path,
            "problems": batch.problems,
            "info": batch.info,
            "events_bytes": events_size,
            "documents_bytes": None if documents is None else documents_size,
        },
        protocol=pickle.HIGHEST_PROTOCOL,
    )
    head = _PREFIX.pack(MAGIC, len(header)) + header
    return _Message(head + b"\0" * _pad(len(head)), batch.events, events_size, documents, documents_size)


def encode(task_id: int, batch: Batch) -> pa.Buffer:
    """``batch`` of task ``task_id`` as one message (see the module docstring)."""
    message = _message(task_id, batch)
    out = pa.BufferOutputStream()
    message.write(out)
    return out.getvalue()


_HEADER_KEYS = frozenset({
    "task_id", "file_key", "first_ordinal", "next_ordinal", "final", "format", "error", "file_read", "problems",
    "info", "events_bytes", "documents_bytes",
})


def decode(message: pa.Buffer | bytes) -> tuple[int, Batch]:
    """The task id and the Batch of one message; :class:`TransportError` when it does not add up.
    The record batch points into ``message`` (no copy)."""
    buf = message if isinstance(message, pa.Buffer) else pa.py_buffer(message)
    size = buf.size
    if size < _PREFIX.size:
        raise TransportError(f"Batch message of {size} bytes is shorter than its prefix")
    magic, header_len = _PREFIX.unpack(buf[: _PREFIX.size].to_pybytes())
    if magic != MAGIC:
        raise TransportError(f"not a Batch message (starts {magic!r}, expected {MAGIC!r})")
    offset = _PREFIX.size + header_len
    if offset > size:
        raise TransportError(f"Batch message truncated: {size} bytes, its header alone needs {offset}")
    try:
        head: dict[str, Any] = pickle.loads(buf[_PREFIX.size : offset])  # noqa: S301 - from our own worker
    except Exception as exc:
        raise TransportError(f"Batch message with an unreadable header: {exc!r}") from exc
    if not isinstance(head, dict) or not head.keys() >= _HEADER_KEYS:
        raise TransportError("Batch message whose header lacks fields (a worker of another version?)")
    events_len, docs_len = int(head["events_bytes"]), head["documents_bytes"]
    events_at = offset + _pad(offset)
    docs_at = events_at + events_len + (_pad(events_len) if docs_len is not None else 0)
    end = docs_at + (docs_len or 0)
    if end > size:
        raise TransportError(f"Batch message truncated: {size} bytes, its header announces {end}")
    if end < size:
        raise TransportError(f"Batch message of {size} bytes, {size - end} past the end its header announces")
    try:
        events = pa.ipc.open_stream(buf.slice(events_at, events_len)).read_next_batch()
        documents = None
        if docs_len is not None:
            column = pa.ipc.open_stream(buf.slice(docs_at, docs_len)).read_next_batch().column(0)
            documents = column.to_pylist()
    except (pa.ArrowException, StopIteration) as exc:
        raise TransportError(f"Batch message with an unreadable Arrow stream: {exc}") from exc
    batch = Batch(
        head["file_key"],
        events,
        documents,
        head["first_ordinal"],
        head["next_ordinal"],
        head["problems"],
        head["final"],
        head["info"],
        head["format"],
        head["error"],
        file_read=head["file_read"],
        findings=head.get("findings") or [],
        redacted=head.get("redacted") or {},
        path=head.get("path"),
    )
    return head["task_id"], batch


def send(conn: Connection, task_id: int, batch: Batch) -> None:
    """Worker side: one Batch as one frame (blocks until the parent has read it all, which is
    the pool's back-pressure). OSError when the parent is gone.

    The frame is ``Connection.send_bytes``'s, but the message is written into the pipe as it is
    serialised (:class:`_Message`): no copy of the Batch is made in the worker, whose memory stays
    the Batch itself however large it is."""
    message = _message(task_id, batch)
    size = message.size
    prefix = _FRAME.pack(size) if size <= _MAX_SHORT else _FRAME.pack(-1) + _LONG_FRAME.pack(size)
    with open(conn.fileno(), "wb", closefd=False) as pipe:  # buffered: every write is written whole
        pipe.write(prefix)
        message.write(pa.PythonFile(pipe, mode="w"))


def _read_into(fd: int, view: memoryview, want: int) -> None:
    got = 0
    while got < want:
        n = os.readv(fd, [view[got:want]])
        if n == 0:
            raise TransportError(
                f"Batch message cut short: {got} of {want} bytes, then end of file (the worker died while sending it)",
                torn=True,
            )
        got += n


def read_frame(conn: Connection) -> pa.Buffer:
    """One frame written by ``conn``'s peer with ``send_bytes``, into one new aligned buffer.

    EOFError when the peer closed the connection between frames (it exited or died idle);
    :class:`TransportError` (``torn``) when it closed in the middle of one."""
    fd = conn.fileno()
    prefix = bytearray(_LONG_FRAME.size)
    view = memoryview(prefix)
    first = os.readv(fd, [view[: _FRAME.size]])
    if first == 0:
        raise EOFError("the decode worker closed its pipe")
    if first < _FRAME.size:
        _read_into(fd, view[first:], _FRAME.size - first)
    (size,) = _FRAME.unpack(prefix[: _FRAME.size])
    if size == -1:
        _read_into(fd, view, _LONG_FRAME.size)
        (size,) = _LONG_FRAME.unpack(prefix)
    if size < 0:
        raise TransportError(f"Batch frame with a negative length ({size})")
    try:
        buf = pa.allocate_buffer(size)
    except MemoryError as exc:
        raise TransportError(f"Batch frame of {size} bytes does not fit in memory") from exc
    _read_into(fd, memoryview(buf), size)
    return buf


def receive(conn: Connection) -> tuple[int, Batch]:
    """Parent side: the next ``(task id, Batch)`` from a worker (see :func:`read_frame`)."""
    return decode(read_frame(conn))
