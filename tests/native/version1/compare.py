"""The comparison of version 1's transformed output with the core's, and its tally."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tests.native.version1.core import CoreFile, problem_record, read_core
from tests.native.version1.events import Spec, Version1Event, Version1File
from tests.native.version1.records import PROBLEM_FIELDS, Doc
from tests.native.version1.transformations import PROBLEM_TRANSFORMATIONS, transform


# ================================================================================ comparison
def _show(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


def _same(v1: Doc, core: Doc) -> bool:
    """The documents are equal as JSON: key order aside, ``1`` is not ``1.0`` nor ``true``."""
    try:
        return orjson.dumps(v1, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
            core, option=orjson.OPT_SORT_KEYS
        )
    except TypeError:  # version 1's integer beyond 64 bits
        return not diff_values(v1, core)


def diff_values(v1: Any, core: Any, path: str = "") -> list[str]:
    """Every place where two documents differ, as ``path: version 1 …, core …`` lines."""
    if isinstance(v1, dict) and isinstance(core, dict):
        out: list[str] = []
        for k in list(v1) + [k for k in core if k not in v1]:
            sub = f"{path}.{k}" if path else k
            if k not in core:
                out.append(f"{sub}: only version 1 has it: {_show(v1[k])}")
            elif k not in v1:
                out.append(f"{sub}: only the core has it: {_show(core[k])}")
            else:
                out += diff_values(v1[k], core[k], sub)
        return out
    if v1 == core and type(v1) is type(core):
        return []
    return [f"{path or '(whole)'}: version 1 {_show(v1)}, core {_show(core)}"]


@dataclass
class Difference:
    """One event or problem that differs after the transformations."""

    source: str
    input: str
    where: str
    details: list[str]
    original: str | None = None
    inexact: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """What differs, without the values: the differing paths or problem fields, sorted."""
        what = sorted({d.split(":", 1)[0] for d in self.details})
        item = (
            "verdict"
            if self.where.startswith("verdict")
            else "problem"
            if self.where.endswith("problem")
            else "event"
        )
        return f"{item}: {', '.join(what)}"

    def render(self) -> str:
        lines = [f"[{self.source}] {self.input}, {self.where}:"]
        if self.original is not None:
            lines.append(f"  line: {_show(self.original, 600)}")
        lines += [f"  inexact transformation: {why}" for why in self.inexact]
        lines += [f"  {d}" for d in self.details]
        return "\n".join(lines)


@dataclass
class Tally:
    """What one source gave: files, body lines, events and problems of version 1, differences found
    (after the transformations), lines a transformation could not express exactly (compared, and
    when they differ listed apart, not counted as differences), lines version 1 crashed on (not
    comparable: counted, and listed with what the core gave), transformations applied."""

    files: int = 0
    lines: int = 0
    events: int = 0
    problems: int = 0
    differences: int = 0
    inexact: int = 0
    inexact_differing: int = 0
    version1_crashed: int = 0
    applied: Counter[str] = field(default_factory=Counter)

    COUNTS = (
        "files",
        "lines",
        "events",
        "problems",
        "differences",
        "inexact",
        "inexact_differing",
        "version1_crashed",
    )


@dataclass
class Comparison:
    """Tallies per source, and the first ``keep`` differences, inexact differences and crashes."""

    keep: int = 20
    tallies: dict[str, Tally] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    inexact: list[Difference] = field(default_factory=list)
    crashes: list[Difference] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)  # differences by kind (the first of each kept)
    first_of_kind: dict[str, Difference] = field(default_factory=dict)

    @property
    def total(self) -> Tally:
        total = Tally()
        for t in self.tallies.values():
            for name in Tally.COUNTS:
                setattr(total, name, getattr(total, name) + getattr(t, name))
            total.applied.update(t.applied)
        return total

    def found(self, tally: Tally, d: Difference) -> None:
        if d.inexact:
            tally.inexact_differing += 1
            kept = self.inexact
        else:
            tally.differences += 1
            kept = self.differences
            kind = f"[{d.source}] {d.kind}"
            self.kinds[kind] += 1
            self.first_of_kind.setdefault(kind, d)
        if len(kept) < self.keep:
            kept.append(d)

    def crashed(self, d: Difference) -> None:
        if len(self.crashes) < self.keep:
            self.crashes.append(d)


def _ordinal(doc: Doc) -> int:
    ordinal = doc.get("imperva", {}).get("waf", {}).get("file", {}).get("ordinal", -1)
    return int(ordinal)


class _File:
    """One input file being compared: version 1's records arrive one by one; the core's events are
    taken in step, matched by line ordinal."""

    def __init__(self, f: Version1File, core: CoreFile, result: Comparison) -> None:
        self.f = f
        self.core = core
        self.result = result
        self.tally = result.tallies.setdefault(f.source, Tally())
        self.tally.files += 1
        self.problems: list[dict[str, Any]] = []
        self.crashed: dict[int, Difference] = {}  # lines version 1's decoder crashed on, by ordinal
        self.pending = self._next()

    def _next(self) -> tuple[str, Doc] | None:
        got = next(self.core.events, None)
        return None if got is None else (got[0], orjson.loads(got[1]))

    def _difference(
        self, where: str, details: list[str], original: str | None = None, inexact: list[str] | None = None
    ) -> None:
        self.result.found(
            self.tally, Difference(self.f.source, self.f.input, where, details, original, inexact or [])
        )

    def _core_events_before(self, ordinal: float) -> None:
        while self.pending is not None and _ordinal(self.pending[1]) < ordinal:
            at = _ordinal(self.pending[1])
            if at in self.crashed:
                self.crashed[at].details.append("the core: " + _show(self.pending[1], 600))
            else:
                self._difference(
                    f"ordinal {at}", ["an event only the core has: " + _show(self.pending[1], 600)]
                )
            self.pending = self._next()

    def event(self, record: dict[str, Any]) -> None:
        ev = Version1Event.of(record)
        transform(self.f, ev, self.tally.applied)
        self.f.events += 1
        self.tally.events += 1
        self.tally.inexact += bool(ev.inexact)
        ordinal = _ordinal(ev.doc)
        self._core_events_before(ordinal)
        where = f"line {ev.waf.get('file', {}).get('line')} (ordinal {ordinal})"
        original = ev.doc.get("event", {}).get("original")
        if self.pending is None or _ordinal(self.pending[1]) > ordinal:
            self._difference(where, ["an event only version 1 has"], original, ev.inexact)
            return
        core_id, core_doc = self.pending
        self.pending = self._next()
        details = [] if core_id == ev.id else [f"_id: version 1 {ev.id}, core {core_id}"]
        if ev.crash is not None:
            self.tally.version1_crashed += 1
            shown = [f"version 1's mapping raised {ev.crash}", f"the core: {_show(core_doc, 600)}"]
            self.result.crashed(Difference(self.f.source, self.f.input, where, details + shown, original))
            if details:
                self._difference(where, details, original, ev.inexact)
            return
        if not _same(ev.doc, core_doc):
            details += diff_values(ev.doc, core_doc)
        if details:
            self._difference(where, details, original, ev.inexact)

    def problem(self, record: dict[str, Any]) -> None:
        if "crash" in record:
            where = f"line {record['line']} (ordinal {record['ordinal']})"
            d = Difference(
                self.f.source, self.f.input, where, [f"version 1's decoder raised {record['crash']}"]
            )
            self.crashed[record["ordinal"]] = d
            self.tally.version1_crashed += 1
            self.tally.inexact += 1
            self.result.crashed(d)
            return
        problem = problem_record(record)
        for t in PROBLEM_TRANSFORMATIONS:
            if t(self.f, problem):
                self.tally.applied[t.__name__] += 1
        self.problems.append(problem)

    def end(self, record: dict[str, Any]) -> None:
        self._core_events_before(float("inf"))
        theirs = []
        for p in self.core.problems:
            if p["ordinal"] in self.crashed:
                self.crashed[p["ordinal"]].details.append("the core: " + _show(p, 600))
            else:
                theirs.append(p)
        self.tally.problems += len(self.problems)
        self.tally.lines += record["lines"]
        for where, a, b in _pairs(self.problems, theirs):
            if a == b:
                continue
            if a is None or b is None:
                details = [f"only {'the core' if a is None else 'version 1'} has it: {_show(a or b, 600)}"]
            else:
                details = [
                    f"{k}: version 1 {_show(a[k])}, core {_show(b[k])}"
                    for k in PROBLEM_FIELDS
                    if a[k] != b[k]
                ]
            self._difference(where, details)


def _pairs(
    mine: list[dict[str, Any]], theirs: list[dict[str, Any]]
) -> Iterator[tuple[str, dict[str, Any] | None, dict[str, Any] | None]]:
    """Version 1's and the core's problems side by side: a line's by its ordinal, then the file's
    verdicts in order."""
    by_line: dict[int, list[list[dict[str, Any]]]] = {}
    verdicts: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    for side, problems in enumerate((mine, theirs)):
        for p in problems:
            if p["ordinal"] is None:
                verdicts[side].append(p)
            else:
                by_line.setdefault(p["ordinal"], [[], []])[side].append(p)
    for ordinal in sorted(by_line):
        a, b = by_line[ordinal]
        for i in range(max(len(a), len(b))):
            line = (a or b)[0]["line"]
            yield (
                f"line {line} (ordinal {ordinal}), problem",
                a[i] if i < len(a) else None,
                b[i] if i < len(b) else None,
            )
    a, b = verdicts
    for i in range(max(len(a), len(b))):
        yield f"verdict {i + 1} on the file", a[i] if i < len(a) else None, b[i] if i < len(b) else None


def compare_records(
    records: Iterable[dict[str, Any]],
    result: Comparison,
    keys_dir: Path | None = None,
    core: Callable[[str, Path | None], CoreFile] = read_core,
) -> None:
    """Compare version 1's output (``records``, transformed) with the core's reading of each input
    (``core``): every event (id and document, matched by line ordinal) and every problem."""
    spec: Spec | None = None
    current: _File | None = None
    for record in records:
        if "spec" in record:
            spec = Spec.of(record["spec"])
        elif "file" in record:
            head = record["file"]
            assert spec is not None, "the output starts with version 1's spec"
            f = Version1File(
                spec, head["source"], head["input"], head["name"], head["has_header"], head["header"],
                keys_dir=keys_dir,
            )
            current = _File(f, core(f.input, keys_dir), result)
        elif "event" in record:
            assert current is not None
            current.event(record["event"])
        elif "problem" in record:
            assert current is not None
            current.problem(record["problem"])
        elif "end" in record:
            assert current is not None
            current.end(record["end"])
            current = None


