"""One whole Imperva file → Batches through the native core (``wafpipe._native``), with the
verdicts on the whole file.

Python keeps what is per file: the container header, the outer gzip layer, the decryption (with
``cryptography``) and the verdicts on the whole file (empty, not an Imperva log, a container fault
with what was kept before it, a checksum mismatch). Everything per line — inflating the body, its
MD5, splitting, detecting the format, decoding, the ECS mapping, the ids and the Arrow columns —
happens in the core, which hands back whole Batches: nothing per event crosses into Python.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from wafpipe import _native, clock
from wafpipe.decode.reader.recognise import NOT_IMPERVA_HINT, is_binary, looks_like, shown
from wafpipe.enrich.useragent import parse_user_agent
from wafpipe.errors import BombError, CompressionError, ContainerError, DecryptError
from wafpipe.imperva.container import BodyLine, ImpervaFile, Opener
from wafpipe.model import Batch, Event, FileInfo, Problem

log = logging.getLogger("wafpipe.decode.reader")

@dataclass
class FileReader:
    """Reads one file. :meth:`batches` is the way in of the collector and of ``parse`` (which asks
    for NDJSON lines only); :meth:`items` (events and problems in line order) serves the public API
    and dead-letter replay. Read the stats after."""

    opener: Opener
    name: str
    path: str | None = None
    keys_dir: Path | None = None
    format: str = "auto"
    max_line_bytes: int = _native.DEFAULT_MAX_LINE_BYTES
    start_ordinal: int = 0  # resume point: lines before it are skipped (already acknowledged)
    batch_rows: int = 8192
    documents: bool = True
    # Each Batch's events as NDJSON lines only (``Batch.lines``, no rows, no documents): ``wafpipe parse``.
    ndjson: bool = False
    max_output_bytes: int = _native.DEFAULT_MAX_OUTPUT_BYTES  # bounds of the decoded body (DESIGN §7)
    max_ratio: int = _native.DEFAULT_MAX_RATIO
    counters: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.file = ImpervaFile(self.opener, self.name, self.keys_dir)
        self.detected_format: str | None = None
        self.events = 0  # events yielded by this read
        self._no_rows: pa.RecordBatch | None = None

    @property
    def info(self) -> FileInfo:
        return self.file.info

    def _problem(self, p: Problem) -> Problem:
        self.problems.append(p)
        self.counters[f"problem_{p.kind}"] += 1
        return p

    def _first_bytes(self, n: int = 16) -> bytes:
        try:
            with self.opener() as fh:
                return fh.read(n)
        except OSError:
            return b""

    def _not_imperva(self, first: BodyLine | None, why: str) -> Problem:
        """The one problem of a file that is not an Imperva log (quarantined by the collector)."""
        if first is None or is_binary(first.raw[:512]):
            head = self._first_bytes()
            what = f"it is binary data (first bytes {head.hex(' ')})" if head else "it is binary data"
        else:
            what = f"it looks like {looks_like(first.raw)}; first line {shown(first.raw)}"
        return self._problem(
            Problem(
                "not_imperva",
                self.path or self.name,
                f"does not look like an Imperva CEF/LEEF/W3C log: {what} ({why})",
                NOT_IMPERVA_HINT,
                fatal_to_file=True,
            )
        )

    def batches(self, file_key: str = "", batch_timeout_s: float | None = None) -> Iterator[Batch]:
        """The file as Batches of at most ``batch_rows`` events (cut early once ``batch_timeout_s``
        has passed since the last one); the last is ``final`` and carries the file's verdicts, its
        ``info`` and its format. OSError (the file vanished, permissions) propagates."""
        info = self.file.info
        label = self.path or self.name
        verdicts: list[Problem] = []
        try:
            body = self.file.compressed_body()
        except ContainerError as exc:
            info.error = exc
            info.checksum_status = "incomplete"
            verdicts = list(self._no_lines())
            yield self._final(file_key, self.start_ordinal, self.start_ordinal, verdicts)
            return
        fmt = self.format if self.format != "auto" else _native.detect_format(info.header)
        verdict = self._verdict() if info.has_header else {}
        run = _native.FileRun(
            name=self.name, path=self.path, format=fmt, header=info.header,
            identity=info.identity if info.has_header else None, ingest_ms=int(clock.now() * 1000),
            checksum_status=verdict.get("checksum_status"), partial=verdict.get("partial", False),
            start_ordinal=self.start_ordinal, batch_rows=self.batch_rows, documents=self.documents, ndjson=self.ndjson,
            max_line_bytes=self.max_line_bytes, max_output_bytes=self.max_output_bytes, max_ratio=self.max_ratio,
            user_agent=parse_user_agent,
        )
        next_ordinal = self.start_ordinal
        started = time.monotonic()
        try:
            for chunk in body:
                # The core stops at each completed batch (a chunk may inflate 1000-fold): take it,
                # then let it go on with the same chunk until it has nothing more.
                ready = run.push(chunk)
                while True:
                    if batch_timeout_s is not None and time.monotonic() - started > batch_timeout_s:
                        ready += run.flush()
                    if not ready:
                        break
                    for raw in ready:
                        batch = self._batch(file_key, raw, label)
                        next_ordinal = batch.next_ordinal
                        yield batch
                        del batch  # not kept alive while the next one is decoded
                        # From when the consumer asks for more: the time it spent taking this Batch
                        # (a worker blocked on a busy main process) is not decoding time, and
                        # counting it cut every following Batch short (smaller commits, a larger store).
                        started = time.monotonic()
                    ready = run.push(b"")
                if run.not_imperva is not None:
                    break
        except ContainerError as exc:  # bad ciphertext part-way: the core still ends what it has
            info.error = exc
        ready = run.finish()
        while not run.finished:
            for raw in ready:
                batch = self._batch(file_key, raw, label)
                next_ordinal = batch.next_ordinal
                yield batch
            ready = run.finish()
        last = [self._batch(file_key, raw, label) for raw in ready]
        self._read_end(run)
        for batch in last[:-1]:
            yield batch
        tail = last[-1] if last else None
        if tail is not None:
            next_ordinal = tail.next_ordinal
        self.detected_format = run.format
        self.events = int(dict(run.counters).get("events", 0))
        for name, n in run.counters:
            if not name.startswith("problem_"):  # those are counted as each problem is taken (_problem)
                self.counters[name] += n
        if run.not_imperva is not None:
            why, first = run.not_imperva
            line = BodyLine(0, 1, 0, first, 0, "") if first is not None else None
            verdicts = [self._not_imperva(line, why)]
            tail = None  # the lines read are not events of this file
        elif info.lines == 0:
            verdicts = list(self._no_lines())
        else:
            verdicts = list(self._verdicts(label))
        problems = (tail.problems if tail is not None else []) + verdicts
        first = tail.first_ordinal if tail is not None else next_ordinal
        yield self._final(file_key, first, next_ordinal, problems, tail)

    def _verdict(self) -> dict[str, Any]:
        """The first pass over the body (``_native.BodyCheck``): the checksum verdict and whether the
        body breaks off, known before the first event, so that every event of the file carries
        them (DESIGN §1) although the file is streamed in Batches. It costs one more inflate of the
        body (the second pass skips the MD5). Files with an Imperva header only: a headerless file
        has no checksum, and it may be anything (a large file that is no log is rejected after
        its first lines, not read twice). OSError propagates, as from the main pass."""
        check = _native.BodyCheck(max_output_bytes=self.max_output_bytes, max_ratio=self.max_ratio)
        container = ImpervaFile(self.opener, self.name, self.keys_dir)
        broke = False
        try:
            for chunk in container.compressed_body():
                check.push(chunk)
        except ContainerError:  # bad ciphertext part-way: the main pass meets and reports it
            broke = True
        verdict: dict[str, Any] = check.finish(container.info.checksum)
        self.file.info.computed_md5 = verdict["md5"]
        if broke:
            verdict.update(checksum_status="incomplete", partial=True)
        return verdict

    def items(self) -> Iterator[Event | Problem]:
        """Events and problems in line order (the file's verdicts last)."""
        for batch in self.batches():
            ids = batch.ids
            docs = batch.documents or []
            ordinals = batch.events.column("imperva").field("waf").field("file").field("ordinal").to_pylist()
            problems = sorted((p for p in batch.problems if p.ordinal is not None), key=lambda p: p.ordinal or 0)
            verdicts = [p for p in batch.problems if p.ordinal is None]
            i = 0
            for event_id, doc, ordinal in zip(ids, docs, ordinals, strict=True):
                while i < len(problems) and (problems[i].ordinal or 0) < ordinal:
                    yield problems[i]
                    i += 1
                yield Event(event_id, None, doc)
            yield from problems[i:]
            yield from verdicts

    # -- parts ----------------------------------------------------------------------------------

    def _batch(self, file_key: str, raw: tuple[Any, ...], label: str) -> Batch:
        arrow, documents, first, nxt, problems = raw  # documents: the NDJSON text when ndjson
        if not self.ndjson:
            rows = pa.record_batch(arrow)
        elif self._no_rows is None:  # NDJSON only: every Batch's rows are the same empty batch
            rows = self._no_rows = pa.record_batch(arrow)
        else:
            rows = self._no_rows
        return Batch(
            file_key,
            rows,
            None if self.ndjson else documents,
            first,
            nxt,
            [self._problem(line_problem(p, label)) for p in problems],
            file_read=True,
            lines=in_place(documents) if self.ndjson else None,
        )

    def _final(self, file_key: str, first: int, nxt: int, problems: list[Problem], tail: Batch | None = None) -> Batch:
        """The file's last Batch: ``tail``'s events (the core's last batch), or none, with the
        file's verdicts."""
        if tail is not None:
            events, documents, lines = tail.events, tail.documents, tail.lines
        else:
            events = pa.record_batch(_native.empty_batch())
            documents = [] if self.documents and not self.ndjson else None
            lines = memoryview(b"") if self.ndjson else None
        return Batch(
            file_key, events, documents, first, nxt, problems, True, self.file.info, self.detected_format,
            file_read=True, path=self.path, lines=lines,
        )

    def _read_end(self, run: Any) -> None:
        """The container facts the core found: compression, MD5 and checksum, size, the fault."""
        info = self.file.info
        end = run.end
        if run.identity is not None and not info.has_header:
            info.identity = run.identity
        info.format = run.format
        info.directives = run.directives
        info.w3c_fields = run.w3c_fields
        if end is None:
            return
        info.compression = end["compression"]
        info.computed_md5 = end["md5"] or info.computed_md5  # empty when the first pass took it
        info.body_bytes = end["decoded_bytes"]
        info.lines = end["lines"]
        info.warnings.extend(end["warnings"])
        kind = end.get("error_kind")
        no_event = not dict(run.counters).get("events")
        garbled = (kind and not kind.startswith("bomb")) or end["checksum_status"] == "mismatch"
        if info.encrypted and info.error is None and no_event and garbled:
            # A wrong private key does not always fail to unwrap the content key: PKCS#1 v1.5's
            # implicit rejection gives random bytes, now and then of an AES key's length. The body
            # then decrypts to noise: it fails to decompress within a few bytes or, rarely, inflates
            # to junk whose MD5 is not the header's; either way not one event comes out of it.
            key_id = info.header.get("publickeyid", "?")
            why = end.get("error") or "its MD5 is not the header's checksum"
            info.error = DecryptError(
                f"the body does not decrypt with private key {key_id}: not one event comes out of it ({why})",
                hint="the key in the keys directory is not the one this file was encrypted for, or the file is damaged",
            )
        elif kind and info.error is None:
            fault = BombError if kind.startswith("bomb") else CompressionError
            info.error = fault(end["error"], hint=end["hint"])
        # The core judges the header's checksum (FORMATS §1.6); a fault Python met (ciphertext
        # broken part-way) leaves the body incomplete whatever the core read.
        info.checksum_status = "incomplete" if info.error is not None else end["checksum_status"]


    def _no_lines(self) -> Iterator[Problem]:
        """The body had no line at all: a container fault before the first line, or an empty file."""
        info = self.file.info
        label = self.path or self.name
        err = info.error
        if isinstance(err, CompressionError) and info.compression == "deflate" and not info.has_header:
            # Raw deflate has no magic bytes: it is only a guess for bytes that are neither zlib,
            # gzip nor text. Failing at once, the guess was wrong: this is not an Imperva body.
            yield self._not_imperva(None, "neither text nor zlib, gzip or deflate-compressed text")
            return
        if err is not None or self.start_ordinal > 0 or info.header:
            # A header without events is a legitimate (if odd) delivery: Imperva names the period.
            yield from self._verdicts(label)
            return
        yield self._problem(
            Problem(
                "empty",
                label,
                self._empty_reason(),
                "nothing is lost if the writer meant it so; if the upload was cut short, deliver the file again",
            )
        )

    def _empty_reason(self) -> str:
        info = self.file.info
        if info.has_header:
            return "the file has no events: it holds only the '|==|' separator"
        if info.body_bytes:
            return "the file has no events: it holds only blank lines"
        return "the file has no events: it is empty (0 bytes)"

    def _verdicts(self, label: str) -> Iterator[Problem]:
        """What the container says once it has finished (or failed): file-level problems."""
        info = self.file.info
        if info.error is not None:
            err = info.error
            n = self.events
            if n:
                kept = f"{n} event(s) decoded before the fault were kept; the file is partial"
            else:
                kept = "no events were decoded before the fault"
            if self.start_ordinal:
                kept += f" (this read resumed at line ordinal {self.start_ordinal})"
            yield self._problem(
                Problem(
                    getattr(err, "kind", "container"),
                    label,
                    f"{err.args[0]} — {kept}",
                    err.hint,
                    offset=info.body_bytes,
                    fatal_to_file=True,
                )
            )
        if info.checksum_status == "mismatch":
            yield self._problem(
                Problem(
                    "checksum",
                    label,
                    f"MD5 of the decoded body is {info.computed_md5}, the header says {info.checksum}; "
                    "events were ingested and the file is flagged",
                    "the file may have been altered in transit; compare it with the copy at Imperva",
                )
            )
        for w in info.warnings:  # e.g. bytes after the last compressed stream: logged, counted
            self.counters["container_warning"] += 1
            log.warning("%s: %s", label, w)


def line_problem(p: dict[str, Any], label: str) -> Problem:
    """A line problem as the core reports it (a dict) → :class:`Problem`."""
    return Problem(
        p["kind"], label, p["reason"], p["hint"] or "", line=p["line"], offset=p["offset"],
        column=p["column"], ordinal=p["ordinal"], raw=p["raw"], context=orjson.loads(p["context"]),
    )


def in_place(arrow: Any) -> memoryview:
    """The bytes of the core's one-column ``uint8`` Arrow batch (a Batch's NDJSON text), read where
    the core wrote them: no copy of ~36 MB per Batch (1–2 % of ``wafpipe parse``)."""
    column = pa.record_batch(arrow).column(0)
    data = column.buffers()[1]
    if data is None or not len(column):
        return memoryview(b"")
    # pyarrow exports signed bytes ("b"): cast to the unsigned bytes a ``bytes`` is made of ("B")
    return memoryview(data).cast("B")[column.offset : column.offset + len(column)]


def read_path(path: Path | str, **kw: Any) -> FileReader:
    """A reader of the file at ``path`` (``kw``: the :class:`FileReader` fields)."""
    p = Path(path)
    return FileReader(lambda: open(p, "rb"), p.name, str(p), **kw)
