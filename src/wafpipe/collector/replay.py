"""``wafpipe deadletters replay``: send dead letters again once their cause is fixed.

Every kind replays through the code that made it:

* ``decode`` — the line goes through the same core as ingest (:func:`wafpipe.decode.reader.
  decode_known_line`) with the context recorded when the problem was met (file identity, name,
  path, format, header, W3C columns and directives, ingest time), so an event that decodes now gets
  exactly the id and document ingest would have given it, and is written to every sink. Records
  written before the context was recorded fall back to the state's file record and the line's own
  format marker.
* ``cut_line`` — the line was cut short by a container fault, so its recorded bytes are only a head.
  Replay reads the file again at its recorded path, through the same reader as ingest resuming at
  that ordinal; once the complete file is there (fetched again), the whole line gives the id and
  document an ingest of the complete file gives.
* ``sink_rejected`` — the document (as sent, in ``raw``) goes back to the sink named in the record,
  under its event id, once the cause is fixed (a mapping or template changed). A document the sink
  rejects again stays a dead letter, with the new reason.
* Records about a whole file (``empty``, …) hold no line: there is nothing to send, and they are
  reported as still failing with that reason.

The embedded store allows one writer: while a collector runs on the data directory, the command
refuses (:class:`CollectorRunning`) and the collector replays instead, in its own loop with its own
sinks, when its API is asked (``POST /api/deadletters/replay``, the Health page's button).
"""

from __future__ import annotations

import base64
import json
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from wafpipe import _native
from wafpipe.collector.state.schema import DeadLetterRecord
from wafpipe.collector.state.store import State
from wafpipe.config.root import Config
from wafpipe.decode.batch import batch_of
from wafpipe.decode.reader import FileReader, decode_known_line
from wafpipe.enrich.redaction import Redactor
from wafpipe.errors import WafpipeError
from wafpipe.imperva.container import BodyLine
from wafpipe.model import Context, Event, Problem
from wafpipe.sinks import Sink
from wafpipe.sinks.registry import build_sinks
from wafpipe.store.client import API_FILE

LINE_KINDS = ("decode", "cut_line")
MAX_RECORDS = 1_000_000


class CollectorRunning(WafpipeError):
    """A collector owns the data directory (and its embedded store): replay must wait."""


@dataclass
class KindOutcome:
    replayed: int = 0
    still_failing: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # why they still fail → how many

    def fail(self, reason: str) -> None:
        self.still_failing += 1
        self.reasons[reason] += 1


@dataclass
class ReplayReport:
    """Per dead-letter kind: how many were replayed, how many still fail and why."""

    kinds: dict[str, KindOutcome] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def kind(self, kind: str) -> KindOutcome:
        return self.kinds.setdefault(kind, KindOutcome())

    @property
    def replayed(self) -> int:
        return sum(k.replayed for k in self.kinds.values())

    @property
    def still_failing(self) -> int:
        return sum(k.still_failing for k in self.kinds.values())

    def summary(self) -> dict[str, Any]:
        """The report as JSON (the API's answer); ``lines`` as :meth:`lines` words it."""
        return {
            "replayed": self.replayed,
            "still_failing": self.still_failing,
            "kinds": {name: {"replayed": k.replayed, "still_failing": k.still_failing, "reasons": dict(k.reasons)}
                      for name, k in sorted(self.kinds.items())},
            "notes": list(self.notes),
            "lines": self.lines(),
        }  # fmt: skip

    def lines(self) -> list[str]:
        out = []
        for name in sorted(self.kinds):
            k = self.kinds[name]
            out.append(f"{name}: replayed {k.replayed}, still failing {k.still_failing}")
            for reason, n in k.reasons.most_common(5):
                out.append(f"  {n} × {reason}")
            if len(k.reasons) > 5:
                out.append(f"  … and {len(k.reasons) - 5} other reason(s)")
        out.extend(self.notes)
        out.append(f"replayed {self.replayed}, still failing {self.still_failing}")
        return out


def running_collector(data_dir: Path) -> str | None:
    """``pid N, API at URL`` of the collector that owns ``data_dir``, or None when none runs.

    Read from ``api.json`` (the collector writes it at start); the pid must be alive and, where
    ``/proc`` tells, a wafpipe process, so a stale file left by a killed collector does not block."""
    try:
        info = json.loads((data_dir / API_FILE).read_text())
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid <= 0 or pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        cmdline = None
    if cmdline is not None and b"wafpipe" not in cmdline:
        return None  # the pid was reused by another program
    return f"pid {pid}, API at {info.get('url', '?')}"


def _raw_bytes(record: dict[str, Any]) -> bytes | None:
    if record.get("raw_base64"):
        return base64.b64decode(str(record["raw_base64"]))
    raw = record.get("raw")
    return raw.encode() if isinstance(raw, str) else None


def _legacy_context(rec: DeadLetterRecord, state: State, raw: bytes) -> dict[str, Any] | str:
    """A context for a record written before contexts were recorded: identity, name and path from
    the state's file record, the format from the line itself (no header: best effort)."""
    file_rec = state.get_file(rec.file_key) if rec.file_key else None
    if file_rec is None or not file_rec.identity:
        return "no file context in the record and its file is not in the state"
    fmt = _native.detect_format({}, raw[:512].decode("utf-8", "replace"))
    if fmt is None or fmt == "w3c":
        return "no file context in the record, and the line alone does not tell its format"
    return {"identity": file_rec.identity, "name": file_rec.name, "path": file_rec.path, "format": fmt}


def _line(record: dict[str, Any], raw: bytes) -> BodyLine:
    ctx = record.get("context") or {}
    return BodyLine(
        int(record["ordinal"]),
        int(record.get("line") or 0),
        int(record.get("offset") or 0),
        raw,
        int(ctx.get("full_length") or 0),
        str(ctx.get("full_hash") or ""),
    )


def _complete_line(context: dict[str, Any], ordinal: int, cfg: Config) -> Event | str:
    """The event of the line at ``ordinal`` in the file at the recorded path, read whole now through
    the same reader as ingest (resuming at that ordinal); else why not."""
    path = context.get("path")
    if not path or not Path(path).is_file():
        return (
            f"the file is no longer at {path}: put the complete file there (fetched again), then replay"
            if path
            else "the record names no path to read the complete file from"
        )
    reader = FileReader(
        lambda: open(path, "rb"), str(context.get("name") or Path(path).name), str(path),  # noqa: SIM115
        keys_dir=cfg.keys.dir, format=str(context.get("format") or "auto"),
        max_line_bytes=cfg.pipeline.max_line_bytes, max_output_bytes=cfg.pipeline.max_output_bytes,
        max_ratio=cfg.pipeline.max_ratio, start_ordinal=ordinal, batch_rows=1,
    )
    items = reader.items()
    try:
        for item in items:
            info = reader.info
            if info.has_header and info.identity.hex() != context.get("identity"):
                return f"{path} holds another file now (its header differs from the one read before)"
            if isinstance(item, Event):
                if item.doc["imperva"]["waf"]["file"]["ordinal"] == ordinal:
                    return item
                break
            if item.ordinal is None:  # a verdict on the whole file: it is still cut short, or worse
                if item.fatal_to_file:
                    return f"the file at {path} is still cut short before the end of that line ({item.reason}); fetch it again"
                continue
            if item.ordinal == ordinal:
                if item.kind == "cut_line":
                    return f"the file at {path} is still cut short in that line; fetch it again"
                return f"{item.kind}: {item.reason}"
            if item.ordinal > ordinal:
                break
    except OSError as exc:
        return f"{path} cannot be read: {exc}"
    finally:
        items.close()
    return f"the file at {path} has no line at ordinal {ordinal}"


def _replay_line(rec: DeadLetterRecord, state: State, cfg: Config) -> Event | str:
    """The event a dead-lettered line gives now, or the reason it still fails."""
    record = rec.record
    raw = _raw_bytes(record)
    if raw is None or record.get("ordinal") is None:
        return "the record holds no line to replay"
    context: dict[str, Any] | str = record.get("context") or _legacy_context(rec, state, raw)
    if isinstance(context, str):
        return context
    line = _line(record, raw)
    if rec.kind == "cut_line":
        return _complete_line(context, line.ordinal, cfg)
    try:
        item = decode_known_line(context, line, label=rec.file or str(context.get("path") or context.get("name") or ""))
    except ValueError as exc:
        return f"the record's context cannot be used: {exc}"
    if isinstance(item, Problem):
        return f"{item.kind}: {item.reason}"
    if item is None:
        return "the line holds no event (a W3C directive)"
    return item


def _rejected_event(record: dict[str, Any]) -> Event | str:
    """The document of a ``sink_rejected`` record, as it was before the sink added its routing."""
    raw, event_id = record.get("raw"), record.get("id")
    if not isinstance(raw, str) or not event_id:
        return "the record holds no document or no event id"
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "the recorded document is not JSON"
    if not isinstance(doc, dict):
        return "the recorded document is not a JSON object"
    doc.pop("data_stream", None)  # the sink adds its own routing again
    return Event(str(event_id), doc)


def replay_dead_letters(cfg: Config, kind: str | None = None) -> ReplayReport:
    """``wafpipe deadletters replay``: open the state and the sinks, replay, close."""
    running = running_collector(cfg.data_dir)
    if running is not None:
        raise CollectorRunning(
            f"a collector is running on {cfg.data_dir} ({running}); replay from its web UI (Health) or its API "
            "(POST /api/deadletters/replay), or stop it and run this again",
            hint="wafpipe serve shows the Health page; the API takes the token in <data_dir>/api.token",
        )
    with State(cfg.data_dir) as state:
        if not state.count_dead_letters(kind):
            return ReplayReport()
        sinks = build_sinks(cfg, Context(cfg.data_dir, state=state))
        opened: list[Sink] = []
        try:
            for s in sinks:
                s.open()
                opened.append(s)
            return replay_into(state, sinks, cfg, kind, flush_s=cfg.pipeline.drain_timeout_s)
        finally:
            for s in opened:
                s.close()


def replay_into(state: State, sinks: list[Sink], cfg: Config, kind: str | None = None, *,
                flush_s: float) -> ReplayReport:  # fmt: skip
    """Replay the live dead letters (of ``kind``, or all) into open ``sinks`` and mark those that
    went through: the command's way, and a running collector's (its API runs this in the
    collector's own loop, with the sinks it ingests with). ``flush_s`` bounds the wait for cluster
    sinks to answer; what they refuse again is known from the records they offer the state."""
    report = ReplayReport()
    records = state.list_dead_letters(limit=MAX_RECORDS, kind=kind)
    if not records:
        return report
    redactor = Redactor.from_config(cfg.redaction)  # as the workers redact (a record may predate it)
    with state.dead_letters_offered() as offered:
        lines = _replay_lines(records, state, cfg, sinks, report, redactor)
        rejected = _replay_rejected(records, {s.name: s for s in sinks}, state, report, redactor)
        for s in sinks:
            if not s.flush(timeout=flush_s):
                report.notes.append(
                    f"{s.name}: some replayed events are still in its spool; they are sent when it drains"
                )
    again_by_id = {str(rec["id"]): rec for rec in offered if rec.get("id")}
    ok = [r.id for r, _ in lines]
    for r, ev in lines:  # decoded now; a sink's refusal is a new dead letter of its own
        if ev.id in again_by_id:
            report.notes.append(
                f"event {ev.id} (dead letter {r.id}, {r.kind}) decodes now but was refused by a sink: "
                f"{again_by_id[ev.id].get('reason')} (a new sink_rejected dead letter)"
            )
    for r, ev in rejected:
        again = again_by_id.get(ev.id)
        if again is None:
            report.kind(r.kind).replayed += 1
            ok.append(r.id)
            continue
        report.kind(r.kind).fail(f"rejected again: {again.get('reason')}")
        if again.get("reason") != r.record.get("reason"):
            ok.append(r.id)  # superseded by the new record, which holds the new reason
    state.mark_replayed(ok)
    return report


def _write(sink: Sink, events: list[Event], state: State, redactor: Redactor | None, file_key: str = "") -> None:
    """Write ``events`` to ``sink``, redacted by ``redactor`` as a decode worker's Batch is (a dead
    letter kept before redaction was configured holds its values as they came); refusals (now, or
    when its spool is sent) reach the state."""
    batch = batch_of(events, file_key)
    if redactor is not None:
        redactor.batch(batch)
    result = sink.write(batch)
    if result.rejected:
        state.add_dead_letters([p.record() for p in result.rejected])


def _replay_lines(
    records: Iterable[DeadLetterRecord],
    state: State,
    cfg: Config,
    sinks: list[Sink],
    report: ReplayReport,
    redactor: Redactor | None,
) -> list[tuple[DeadLetterRecord, Event]]:
    """Dead-lettered lines (and file-level records): decode again; what decodes goes to every sink."""
    by_file: dict[str, list[tuple[DeadLetterRecord, Event]]] = {}
    for rec in records:
        if rec.kind == "sink_rejected":
            continue
        outcome = report.kind(rec.kind)
        if rec.kind not in LINE_KINDS and _raw_bytes(rec.record) is None:
            outcome.fail("a problem of the whole file holds no line to replay; deliver the file again once fixed")
            continue
        result = _replay_line(rec, state, cfg)
        if isinstance(result, str):
            outcome.fail(result)
            continue
        by_file.setdefault(rec.file_key or "", []).append((rec, result))
    done: list[tuple[DeadLetterRecord, Event]] = []
    for file_key, pairs in by_file.items():
        for sink in sinks:
            _write(sink, [ev for _, ev in pairs], state, redactor, file_key)
        for rec, ev in pairs:
            report.kind(rec.kind).replayed += 1
            done.append((rec, ev))
    return done


def _replay_rejected(
    records: Iterable[DeadLetterRecord], sinks: dict[str, Sink], state: State, report: ReplayReport,
    redactor: Redactor | None,
) -> list[tuple[DeadLetterRecord, Event]]:
    """``sink_rejected`` documents, each written back to the sink that refused it; whether they went
    through is known once the sinks are flushed (the caller counts them)."""
    by_sink: dict[str, list[tuple[DeadLetterRecord, Event]]] = {}
    for rec in records:
        if rec.kind != "sink_rejected":
            continue
        outcome = report.kind(rec.kind)
        name = str(rec.record.get("sink") or "")
        if name not in sinks:
            outcome.fail(f"sink {name!r} is not in the configuration any more")
            continue
        event = _rejected_event(rec.record)
        if isinstance(event, str):
            outcome.fail(event)
            continue
        by_sink.setdefault(name, []).append((rec, event))
    done: list[tuple[DeadLetterRecord, Event]] = []
    for name, pairs in by_sink.items():
        _write(sinks[name], [ev for _, ev in pairs], state, redactor)
        done.extend(pairs)
    return done
