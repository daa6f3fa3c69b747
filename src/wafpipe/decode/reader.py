"""One Imperva file → ECS events and problems: container → decode → ecs, with the bad-input rules
of DESIGN §7. Used by ``wafpipe parse`` and by the collector's decode workers alike.

Nothing raises for bad data: every fault becomes a :class:`Problem` (what, where, how to fix, raw
bytes for the dead-letter record) and the good lines around it still come out.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from wafpipe.decode.detect import LineDecoder, detect_format, make_decoder
from wafpipe.decode.mapping import FileContext, to_ecs
from wafpipe.decode.record import NON_UTF8_WARNING, utf8_text
from wafpipe.errors import DecodeError
from wafpipe.imperva.container import BodyLine, ImpervaFile, Opener
from wafpipe.imperva.ids import event_id
from wafpipe.model import Event, Problem

log = logging.getLogger("wafpipe.decode.reader")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


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

    @property
    def info(self):  # type: ignore[no-untyped-def]
        return self.file.info

    def _problem(self, p: Problem) -> Problem:
        self.problems.append(p)
        self.counters[f"problem_{p.kind}"] += 1
        return p

    def items(self) -> Iterator[Event | Problem]:
        info = self.file.info
        label = self.path or self.name
        lines = self.file.lines()
        first: BodyLine | None = next(lines, None)
        decoder: LineDecoder | None = None
        ctx: FileContext | None = None
        if first is not None:
            fmt = self.format if self.format != "auto" else None
            if fmt is None:
                fmt = detect_format(info.header, first.raw[:512].decode("utf-8", "replace"))
            if fmt is None:
                yield self._problem(
                    Problem(
                        "decode",
                        label,
                        "cannot tell the format: the header has no 'format' and the first line is not CEF, LEEF or W3C",
                        "pass --format cef|leef|w3c, or check that this is an Imperva log file",
                        line=first.line_no,
                        offset=first.offset,
                        column=1,
                        raw=first.raw,
                    )
                )
                fmt = "cef"
            self.detected_format = fmt
            decoder = make_decoder(fmt, info.header)
            ctx = FileContext(
                name=self.name,
                path=self.path,
                format=fmt,
                header=info.header,
                api_id=info.api_id,
                seq=info.seq,
                compression=info.compression,
                encrypted=info.encrypted,
                gzip_wrapped=info.gzip_wrapped,
                ingest_ms=int(time.time() * 1000),
                counters=self.counters,
            )

            def all_lines() -> Iterator[BodyLine]:
                yield first
                yield from lines

            yield from self._decode_lines(all_lines(), decoder, ctx, label)
        # The container has finished (or failed): file-level verdicts.
        if info.error is not None:
            err = info.error
            yield self._problem(
                Problem(
                    getattr(err, "kind", "container"),
                    label,
                    f"{err.args[0]} — events before this point were kept; the file is partial",
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

    def _decode_lines(
        self, lines: Iterator[BodyLine], decoder: LineDecoder, ctx: FileContext, label: str
    ) -> Iterator[Event | Problem]:
        identity = self.file.info.identity
        counters = self.counters
        start_ordinal = self.start_ordinal
        file_doc: dict[str, object] | None = None
        is_w3c = ctx.format == "w3c"
        for bl in lines:
            if bl.ordinal < start_ordinal:
                if is_w3c and bl.raw.startswith(b"#"):
                    decoder.decode(bl.raw.decode("utf-8", "replace"))
                continue
            if bl.full_length == -1:
                yield self._problem(
                    Problem(
                        "cut_line",
                        label,
                        "the last line was cut short by the container fault below",
                        "fetch the complete file again",
                        line=bl.line_no,
                        offset=bl.offset,
                        ordinal=bl.ordinal,
                        raw=bl.raw,
                    )
                )
                continue
            raw = bl.raw
            text, replaced = utf8_text(raw)
            try:
                rec = decoder.decode(text)
            except DecodeError as exc:
                yield self._problem(
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
                file_doc_path = self.path or None
            waf = doc["imperva"]["waf"]
            fd = dict(file_doc)
            fd["line"] = bl.line_no
            fd["ordinal"] = bl.ordinal
            if self.file.info.partial:
                fd["partial"] = True
            waf["file"] = fd
            if replaced:
                waf["original_base64"] = base64.b64encode(raw).decode("ascii")
            if bl.full_length:
                waf["line_truncated"] = {"length": bl.full_length, "sha256": bl.full_hash}
            log: dict[str, object] = {"offset": bl.offset}
            if file_doc_path:
                log["file"] = {"path": file_doc_path}
            doc["log"] = log
            counters["events"] += 1
            if waf.get("security_event"):
                counters["security_events"] += 1
            yield Event(event_id(identity, bl.ordinal, raw + bl.full_hash.encode()), doc)


def read_path(path: Path | str, **kw: object) -> FileReader:
    p = Path(path)
    return FileReader(lambda: open(p, "rb"), p.name, str(p), **kw)  # type: ignore[arg-type]
