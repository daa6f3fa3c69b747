"""Lines of one known file → events and problems: the per-line rules, shared by a whole-file read
and by dead-letter replay."""

from __future__ import annotations

import base64
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from wafpipe import clock
from wafpipe.decode.detect import LineDecoder, make_decoder
from wafpipe.decode.mapping import FileContext, to_ecs
from wafpipe.decode.reader.recognise import CONTROL
from wafpipe.decode.record import NON_UTF8_WARNING, utf8_text
from wafpipe.errors import DecodeError
from wafpipe.imperva.container import BodyLine
from wafpipe.imperva.ids import event_id
from wafpipe.model import Event, FileInfo, Problem

log = logging.getLogger("wafpipe.decode.reader")


# -------------------------------------------------------------------------- decoding known lines
@dataclass
class LineRun:
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
            if CONTROL.search(text) is not None:
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
    run = LineRun(
        decoder,
        ctx,
        label or ctx.path or ctx.info.name,
        bytes.fromhex(str(context["identity"])),
        lambda: partial,
        counters,
    )
    return run.run(lines)


