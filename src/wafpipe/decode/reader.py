"""One Imperva file → ECS events and problems: container → decode → ecs, with the bad-input rules
of DESIGN §7. Used by ``wafpipe parse``, by the collector's decode workers and by dead-letter
replay alike: there is one way a line becomes an event.

Nothing raises for bad data: every fault becomes a :class:`Problem` (what, where, how to fix, raw
bytes for the dead-letter record) and the good lines around it still come out.

Verdicts on the whole file (DESIGN §7), each one Problem rather than one per line:

* ``not_imperva`` — the file is not an Imperva log at all (an nginx access log, a binary): none of
  its first lines is CEF, LEEF or W3C, or none of its first :data:`PROBE_LINES` lines decodes, and
  the header (if any) declares no format. ``fatal_to_file``: the collector quarantines it.
* ``empty`` — the file holds nothing: 0 bytes, only the ``|==|`` separator, or only blank lines. (A
  header without events is a legitimate delivery, not a problem.)
* a container fault (corrupt compression, bad ciphertext, missing key) says how many events were
  decoded before it ("no events were decoded before the fault" when none were).

Replay. A ``decode`` or ``cut_line`` problem carries ``context``: what the reader knew about the
file when it met the line (identity, name, path, format, header, container facts, the W3C columns
and directives, ingest time, and the long-line hash). :func:`decode_known_lines` decodes given lines
of such a known file through the same code as :meth:`FileReader.items`, so a dead-lettered line
replayed after a fix gets exactly the id and document ingest would have given it.
"""

from __future__ import annotations

import base64
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wafpipe import clock
from wafpipe.decode.detect import LineDecoder, detect_format, make_decoder
from wafpipe.decode.mapping import FileContext, to_ecs
from wafpipe.decode.record import NON_UTF8_WARNING, utf8_text
from wafpipe.errors import CompressionError, DecodeError
from wafpipe.imperva.container import BodyLine, ImpervaFile, Opener
from wafpipe.imperva.ids import event_id
from wafpipe.model import Event, FileInfo, Problem

log = logging.getLogger("wafpipe.decode.reader")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

# Lines looked at to recognise a file that is not an Imperva log: the first line with a CEF/LEEF/W3C
# marker must come within PROBE_LINES lines, and one of the first PROBE_LINES lines must decode.
PROBE_LINES = 64
NOT_IMPERVA_HINT = (
    "if this is not an Imperva log, narrow the source's patterns (or remove the file) so it is not "
    "collected; if it is one, check that it is complete and not another program's output"
)

__all__ = ["PROBE_LINES", "FileReader", "Problem", "decode_known_lines", "read_path"]


def _shown(raw: bytes, limit: int = 80) -> str:
    """A line as safe, short text for a message (control characters escaped)."""
    text = raw[: limit * 4].decode("utf-8", "replace")
    text = text.encode("unicode_escape").decode("ascii") if _CONTROL.search(text) else text
    return repr(text[:limit] + ("…" if len(text) > limit else ""))


def _is_binary(sample: bytes) -> bool:
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
    if _is_binary(first[:512]):
        return "binary data"
    if _ACCESS_LOG.match(first):
        return "a web server access log (Apache/nginx format)"
    stripped = first.lstrip()
    if stripped.startswith((b"{", b"[")):
        return "JSON"
    if _SYSLOG.match(first):
        return "a syslog log without CEF/LEEF content"
    return "text in another format"


# -------------------------------------------------------------------------- decoding known lines
@dataclass
class _Lines:
    """Lines of one file → events and problems: the per-line rules of DESIGN §7, shared by
    :class:`FileReader` (a whole file) and :func:`decode_known_lines` (replayed dead letters)."""

    decoder: LineDecoder
    ctx: FileContext
    label: str
    identity: bytes
    partial: Callable[[], bool]
    counters: Counter[str]
    start_ordinal: int = 0
    events: int = 0  # events yielded so far

    def context(self, bl: BodyLine) -> dict[str, Any]:
        """What replay needs to decode ``bl`` as this read would have (see the module docstring)."""
        ctx, info = self.ctx, self.ctx.info
        out: dict[str, Any] = {
            "identity": self.identity.hex(),
            "name": info.name,
            "path": ctx.path,
            "format": ctx.format,
            "header": {k: v for k, v in info.header.items() if k != "key"},
            "api_id": info.api_id,
            "seq": info.seq,
            "compression": info.compression,
            "encrypted": info.encrypted,
            "gzip_wrapped": info.gzip_wrapped,
            "partial": self.partial(),
            "ingest_ms": ctx.ingest_ms,
        }
        if ctx.format == "w3c":
            out["w3c_fields"] = list(getattr(self.decoder, "columns", []))
            out["directives"] = dict(getattr(self.decoder, "directives", {}))
        if bl.full_length > 0:
            out["full_length"] = bl.full_length
            out["full_hash"] = bl.full_hash
        return out

    def problem(self, p: Problem) -> Problem:
        self.counters[f"problem_{p.kind}"] += 1
        return p

    def run(self, lines: Iterable[BodyLine]) -> Iterator[Event | Problem]:
        decoder, ctx, label = self.decoder, self.ctx, self.label
        identity, counters, start_ordinal = self.identity, self.counters, self.start_ordinal
        file_doc: dict[str, object] | None = None
        file_doc_path = ctx.path or None
        is_w3c = ctx.format == "w3c"
        for bl in lines:
            if bl.ordinal < start_ordinal:
                if is_w3c and bl.raw.startswith(b"#"):
                    decoder.decode(bl.raw.decode("utf-8", "replace"))
                continue
            if bl.full_length == -1:
                yield self.problem(
                    Problem(
                        "cut_line",
                        label,
                        "the last line was cut short by the container fault below",
                        "fetch the complete file again, then replay the dead letters",
                        line=bl.line_no,
                        offset=bl.offset,
                        ordinal=bl.ordinal,
                        raw=bl.raw,
                        context=self.context(bl),
                    )
                )
                continue
            raw = bl.raw
            text, replaced = utf8_text(raw)
            try:
                rec = decoder.decode(text)
            except DecodeError as exc:
                yield self.problem(
                    Problem(
                        "decode",
                        label,
                        exc.reason,
                        exc.hint,
                        line=bl.line_no,
                        offset=bl.offset,
                        column=exc.column or None,
                        ordinal=bl.ordinal,
                        raw=raw,
                        context=self.context(bl),
                    )
                )
                continue
            if rec is None:  # a W3C directive
                file_doc = None
                continue
            if replaced:
                rec.warnings.append(NON_UTF8_WARNING)
                counters["warning_non_utf8"] += 1
            if _CONTROL.search(text) is not None:
                rec.warnings.append("line holds control characters (kept)")
                counters["warning_control_chars"] += 1
            if bl.full_length:
                rec.warnings.append(
                    f"line of {bl.full_length} bytes exceeds max_line_bytes; decoded from its first "
                    f"{len(raw)} bytes"
                )
                counters["warning_long_line"] += 1
            doc = to_ecs(rec, ctx, original=text)
            if file_doc is None:
                if is_w3c:
                    ctx.directives = getattr(decoder, "directives", None)
                file_doc = ctx.file_doc()
            waf = doc["imperva"]["waf"]
            fd = dict(file_doc)
            fd["line"] = bl.line_no
            fd["ordinal"] = bl.ordinal
            if self.partial():
                fd["partial"] = True
            waf["file"] = fd
            if replaced:
                waf["original_base64"] = base64.b64encode(raw).decode("ascii")
            if bl.full_length:
                waf["line_truncated"] = {"length": bl.full_length, "sha256": bl.full_hash}
            log_doc: dict[str, object] = {"offset": bl.offset}
            if file_doc_path:
                log_doc["file"] = {"path": file_doc_path}
            doc["log"] = log_doc
            counters["events"] += 1
            if waf.get("security_event"):
                counters["security_events"] += 1
            self.events += 1
            yield Event(event_id(identity, bl.ordinal, raw + bl.full_hash.encode()), doc)


def decode_known_lines(
    context: Mapping[str, Any],
    lines: Iterable[BodyLine],
    *,
    label: str | None = None,
    counters: Counter[str] | None = None,
) -> Iterator[Event | Problem]:
    """Decode ``lines`` of a file known by ``context`` (a problem's ``context``, as recorded in its
    dead-letter record) exactly as :meth:`FileReader.items` decoded them: the same decoder state
    (W3C columns and directives), the same file fields, the same ids. A line that still does not
    decode comes back as a Problem with the current reason."""
    fmt = str(context.get("format") or "")
    header = {str(k): str(v) for k, v in dict(context.get("header") or {}).items()}
    decoder = make_decoder(fmt, header)
    if fmt == "w3c":
        if context.get("w3c_fields"):
            decoder.set_fields(list(context["w3c_fields"]))  # type: ignore[attr-defined]
        decoder.directives.update(dict(context.get("directives") or {}))  # type: ignore[attr-defined]
    seq = context.get("seq")
    counters = counters if counters is not None else Counter()
    info = FileInfo(
        name=str(context.get("name") or ""),
        header=header,
        api_id=context.get("api_id"),
        seq=int(seq) if seq is not None else None,
        compression=context.get("compression") or "none",
        encrypted=bool(context.get("encrypted")),
        gzip_wrapped=bool(context.get("gzip_wrapped")),
    )
    ctx = FileContext(
        info=info,
        path=context.get("path"),
        format=fmt,
        ingest_ms=int(context.get("ingest_ms") or clock.now() * 1000),
        counters=counters,
    )
    partial = bool(context.get("partial"))
    run = _Lines(
        decoder,
        ctx,
        label or ctx.path or ctx.info.name,
        bytes.fromhex(str(context["identity"])),
        lambda: partial,
        counters,
    )
    return run.run(lines)


# ------------------------------------------------------------------------------ a whole file
@dataclass
class FileReader:
    """Reads one file. Iterate :meth:`items` (``Event`` or ``Problem``); then read the stats."""

    opener: Opener
    name: str
    path: str | None = None
    keys_dir: Path | None = None
    format: str = "auto"
    max_line_bytes: int = 1 << 20
    start_ordinal: int = 0  # resume point: lines before it are skipped (already acknowledged)
    counters: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.file = ImpervaFile(self.opener, self.name, self.keys_dir, self.max_line_bytes)
        self.detected_format: str | None = None
        self.events = 0  # events yielded by this read

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
        if first is None or _is_binary(first.raw[:512]):
            head = self._first_bytes()
            what = f"it is binary data (first bytes {head.hex(' ')})" if head else "it is binary data"
        else:
            what = f"it looks like {looks_like(first.raw)}; first line {_shown(first.raw)}"
        return self._problem(
            Problem(
                "not_imperva",
                self.path or self.name,
                f"does not look like an Imperva CEF/LEEF/W3C log: {what} ({why})",
                NOT_IMPERVA_HINT,
                fatal_to_file=True,
            )
        )

    def items(self) -> Iterator[Event | Problem]:
        info = self.file.info
        label = self.path or self.name
        lines = self.file.lines()
        probe: list[BodyLine] = []
        first = next(lines, None)
        if first is not None:
            probe.append(first)
        fmt = self.format if self.format != "auto" else detect_format(info.header, None)
        declared = detect_format(info.header, None) is not None  # the header names the format
        if fmt is None:
            # Look for the first line that carries a CEF/LEEF/W3C marker, within PROBE_LINES lines.
            while probe:
                fmt = detect_format({}, probe[-1].raw[:512].decode("utf-8", "replace"))
                if fmt is not None or len(probe) >= PROBE_LINES:
                    break
                nxt = next(lines, None)
                if nxt is None:
                    break
                probe.append(nxt)
        if fmt is None and probe:
            lines.close()
            yield self._not_imperva(first, f"none of its first {len(probe)} line(s) is CEF, LEEF or W3C")
            return
        if not probe:
            yield from self._no_lines()
            return
        assert fmt is not None
        self.detected_format = fmt
        decoder = make_decoder(fmt, info.header)
        ctx = FileContext(
            info=info,
            path=self.path,
            format=fmt,
            ingest_ms=int(clock.now() * 1000),  # the one clock: WAFPIPE_NOW fixes it in tests
            counters=self.counters,
        )
        run = _Lines(decoder, ctx, label, info.identity, lambda: info.partial, self.counters, self.start_ordinal)

        def all_lines() -> Iterator[BodyLine]:
            yield from probe
            yield from lines

        decoded = run.run(all_lines())
        if not declared and self.start_ordinal == 0:
            # A format told only by content must prove itself: one of the first PROBE_LINES lines
            # must decode, else the file is another program's (a shell script's '#' lines are not W3C).
            held: list[Event | Problem] = []
            failed = 0
            for item in decoded:
                held.append(item)
                if isinstance(item, Event):
                    break
                if item.kind == "decode":
                    failed += 1
                    if failed >= PROBE_LINES:
                        break
            if failed and not any(isinstance(i, Event) for i in held):
                for item in held:  # replaced by the one verdict on the file
                    if isinstance(item, Problem):
                        key = f"problem_{item.kind}"
                        self.counters[key] -= 1
                        if self.counters[key] <= 0:
                            del self.counters[key]
                decoded.close()
                lines.close()
                yield self._not_imperva(first, f"none of its first {failed} {fmt.upper()}-like line(s) decodes")
                return
            for item in held:
                if isinstance(item, Problem):
                    self.problems.append(item)
                yield item
        for item in decoded:
            if isinstance(item, Problem):
                self.problems.append(item)
            yield item
        self.events = run.events
        yield from self._verdicts(label)

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


def read_path(path: Path | str, **kw: object) -> FileReader:
    p = Path(path)
    return FileReader(lambda: open(p, "rb"), p.name, str(p), **kw)  # type: ignore[arg-type]
