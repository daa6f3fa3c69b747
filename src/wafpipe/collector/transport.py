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
2.6 µs per event, most of it the kernel's copy of the message out of the socket (since gone:
see "Handover" below).

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

Handover. The worker writes the message into a file of its own that lives only in memory (a
``memfd``: an unlinked temporary file where the system has none), seals it against any change, and
sends the parent a 16-byte notice (``b"WPM1"``, 4 bytes of padding, the message's size as u64) with
the file's descriptor attached (``SCM_RIGHTS``). The parent maps the file read-only and reads the
Batch where it lies: the events are never copied again, and it never waits while a worker pushes
a message through the socket's small buffer. Measured on a 1 M-event backlog with two workers
(batches of 10 000 events, ~25 MB each): reading a Batch from the socket took the main process
~45 ms, only ~13 ms of it working (the kernel's copy), the rest waiting for the worker's writes; a
message is now whole before the parent hears of it, and taking it costs ~7 ms (mapping its pages),
0.8 s of the run instead of 5. The worker's memory is not raised by this:
before, the parent filled a buffer of the message's size while the worker still held its Batch;
now the file is that buffer, and the parent maps it instead of filling one.

Back-pressure. The parent answers each notice it has taken with a short acknowledgement (``ACK``,
a frame of :class:`~multiprocessing.connection.Connection` 's, like the tasks sent the other way),
and the worker waits for it before it decodes on: as when the whole message went through the
socket, a worker is at most one Batch ahead of the parent, which holds the Batch back while a sink
is full. Without it a worker would fill memory with sealed files nobody maps (and no process's
resident size would show them).

What can go wrong is small and named: a worker killed while writing its message never sends the
notice (its socket ends: a dead worker); one killed while sending the 16 bytes leaves a notice cut
short (``torn``); a notice without its file, with another magic, announcing more bytes than the
file holds, or a file left unsealed, is refused. Each is a :class:`TransportError`, which the pool
treats as a dead worker (its file is read again from its last acknowledged ordinal).
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import pickle
import socket
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import pyarrow as pa

from wafpipe.model import Batch

MAGIC = b"WPB1"
_PREFIX = struct.Struct("<4sI")  # magic, header length
_ALIGN = 8
_DOCUMENTS = pa.schema([pa.field("document", pa.large_binary(), nullable=False)])
MAGIC_NOTICE = b"WPM1"
_NOTICE = struct.Struct("<4s4xQ")  # magic, padding, the message's size; its file travels beside it
_ALLOW_SEALING = getattr(os, "MFD_ALLOW_SEALING", 0)
_SEALS = (
    fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE if _ALLOW_SEALING else 0
)
ACK = b"taken"  # the parent's answer to each notice
_POPULATE = getattr(mmap, "MAP_POPULATE", 0)  # map every page at once: the sink reads them all


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
    prefix) before the streams are written, so a worker writes them straight into the shared file
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
    """Worker side: write ``batch``'s message into a new shared file, seal it, send its descriptor
    (see "Handover" above) and wait until the parent has taken it ("Back-pressure"). OSError or
    EOFError when the parent is gone.

    The message is written into the file as it is serialised (:class:`_Message`), through the
    kernel: the worker never maps it, so its own memory stays the Batch however large it is."""
    message = _message(task_id, batch)
    fd = _shared_file()
    try:
        with open(fd, "wb", closefd=False) as out:  # buffered: the IPC writer's small pieces batched
            message.write(pa.PythonFile(out, mode="w"))
        _seal(fd)
        with _socket(conn) as sock:
            socket.send_fds(sock, [_NOTICE.pack(MAGIC_NOTICE, message.size)], [fd])
    finally:
        os.close(fd)
    if conn.recv_bytes(len(ACK)) != ACK:  # taken: only now may the worker decode on
        raise TransportError("the parent answered a Batch with something other than its acknowledgement")


def _shared_file() -> int:
    """A new anonymous file: in memory (``memfd``) where the system has it, else an unlinked
    temporary file."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("wafpipe-batch", os.MFD_CLOEXEC | _ALLOW_SEALING)
    with tempfile.TemporaryFile() as f:  # pragma: no cover - systems without memfd
        return os.dup(f.fileno())


def _seal(fd: int) -> None:
    """Where the system seals files, forbid any later change: the parent maps it and reads it
    while the worker goes on, and a file that shrank under a mapping would kill the reader."""
    if _ALLOW_SEALING:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)


@contextlib.contextmanager
def _socket(conn: Connection) -> Iterator[socket.socket]:
    """``conn``'s descriptor as a socket (for its descriptor-passing calls), left open after."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, fileno=conn.fileno())
    try:
        yield sock
    finally:
        sock.detach()


def _read_notice(sock: socket.socket) -> tuple[bytes, list[int]]:
    """The next notice's bytes and the descriptors that came with them."""
    data, fds, flags, _ = socket.recv_fds(sock, _NOTICE.size, 1)
    try:
        if flags & socket.MSG_CTRUNC:
            raise TransportError("a Batch notice whose descriptor was dropped (too many open files?)")
        if not data:
            raise EOFError("the decode worker closed its socket")
        got = bytearray(data)
        while len(got) < _NOTICE.size:
            more = sock.recv(_NOTICE.size - len(got))
            if not more:
                raise TransportError(
                    f"Batch notice cut short: {len(got)} of {_NOTICE.size} bytes, then end of file "
                    "(the worker died while sending it)",
                    torn=True,
                )
            got += more
    except BaseException:
        _close_all(fds)
        raise
    return bytes(got), fds


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def read_message(conn: Connection) -> pa.Buffer:
    """Parent side: the next message sent by ``conn``'s worker, mapped read-only (no copy).

    EOFError when the worker closed its socket between messages (it exited or died idle);
    :class:`TransportError` (``torn`` when its notice was cut short) when what came cannot be a
    message."""
    with _socket(conn) as sock:
        notice, fds = _read_notice(sock)
    try:
        magic, size = _NOTICE.unpack(notice)
        if magic != MAGIC_NOTICE:
            raise TransportError(f"not a Batch notice (starts {magic!r}, expected {MAGIC_NOTICE!r})")
        if len(fds) != 1:
            raise TransportError("a Batch notice without its shared file")
        fd = fds[0]
        try:
            held = os.fstat(fd).st_size
            sealed = not _ALLOW_SEALING or fcntl.fcntl(fd, fcntl.F_GET_SEALS) & _SEALS == _SEALS
        except OSError as exc:  # not a file at all
            raise TransportError(f"a Batch notice whose descriptor cannot be inspected: {exc}") from exc
        if held != size:
            raise TransportError(f"a Batch message announced as {size} bytes in a file of {held}")
        if not sealed:
            raise TransportError("a Batch message in a file that is not sealed (a worker of another version?)")
        if size == 0:
            raise TransportError("an empty Batch message")
        try:
            mapped = mmap.mmap(fd, size, flags=mmap.MAP_SHARED | _POPULATE, prot=mmap.PROT_READ)
        except (OSError, ValueError) as exc:
            raise TransportError(f"a Batch message of {size} bytes that cannot be mapped: {exc}") from exc
    finally:
        _close_all(fds)
    return pa.py_buffer(mapped)


def receive(conn: Connection) -> tuple[int, Batch]:
    """Parent side: the next ``(task id, Batch)`` from a worker (see :func:`read_message`), whose
    message is then acknowledged (a worker that died meanwhile needs no answer)."""
    message = read_message(conn)
    with contextlib.suppress(OSError):
        conn.send_bytes(ACK)
    return decode(message)
