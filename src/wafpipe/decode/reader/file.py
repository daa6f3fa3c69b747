"""One whole Imperva file → events and problems, with the per-file verdicts."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from wafpipe import clock
from wafpipe.decode.detect import detect_format, make_decoder
from wafpipe.decode.mapping import FileContext
from wafpipe.decode.reader.lines import LineRun
from wafpipe.decode.reader.recognise import NOT_IMPERVA_HINT, PROBE_LINES, is_binary, looks_like, shown
from wafpipe.errors import CompressionError
from wafpipe.imperva.container import BodyLine, ImpervaFile, Opener
from wafpipe.model import Event, FileInfo, Problem

log = logging.getLogger("wafpipe.decode.reader")


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
        run = LineRun(decoder, ctx, label, info.identity, lambda: info.partial, self.counters, self.start_ordinal)

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
