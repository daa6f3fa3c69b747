"""Version 1's output being transformed: its tables, one file, one event."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.native.version1.records import Doc


# ========================================================================== version 1's output
@dataclass
class Spec:
    """Version 1's tables, as its worker wrote them: key → (type, vendor path, ECS paths)."""

    fields: dict[str, tuple[str, str, list[str]]]
    rule_types: dict[int, str]
    rule_type_by_name: dict[str, int]

    @classmethod
    def of(cls, record: dict[str, Any]) -> Spec:
        return cls(
            {k: (v[0], v[1], list(v[2])) for k, v in record["fields"].items()},
            {int(k): v for k, v in record["rule_types"].items()},
            dict(record["rule_type_by_name"]),
        )

    def places(self, key: str) -> list[tuple[str, ...]]:
        """Every place of the document that holds ``key``'s converted value."""
        _, path, ecs = self.fields[key]
        return [("imperva", "waf", *path.split("."))] + [tuple(e.split(".")) for e in ecs]

    def vendor(self, key: str) -> tuple[str, ...]:
        return ("imperva", "waf", *self.fields[key][1].split("."))

    def keys_of(self, *types: str) -> list[str]:
        return [k for t in types for k in self.by_type.get(t, [])]

    def __post_init__(self) -> None:
        self.by_type: dict[str, list[str]] = {}
        for key, (typ, _, _) in self.fields.items():
            self.by_type.setdefault(typ, []).append(key)


@dataclass
class Version1File:
    """One input file as version 1 read it (what the transformations need of the file)."""

    spec: Spec
    source: str
    input: str
    name: str
    has_header: bool
    header: dict[str, str]
    identity: bytes | None = None  # headerless: set from the first event line
    keys_dir: Path | None = None  # where its private key is, if it is encrypted
    events: int = 0  # events of version 1 met so far (all of them by its file-level verdicts)


@dataclass
class Version1Event:
    """One event of version 1, being transformed. ``warnings`` are kept in three parts (the line's
    own, one per converted key in record order, then the timestamp's) so a transformation can
    change one key's warning in its place; :meth:`finish` writes them back."""

    id: str
    doc: Doc
    typed: dict[str, str]
    severity: str | None
    crash: str | None = None
    inexact: list[str] = field(default_factory=list)
    own: list[str] = field(default_factory=list)
    keyed: dict[str, str] = field(default_factory=dict)
    timestamp: list[str] = field(default_factory=list)
    version1_source: str | None = None

    @classmethod
    def of(cls, record: dict[str, Any]) -> Version1Event:
        ev = cls(
            record["id"], record["doc"], dict(record["typed"]), record.get("severity"), record.get("crash")
        )
        waf = ev.waf
        warnings = list(waf.get("warnings", []))
        invalid = list(waf.get("invalid", {}))
        split = len(warnings) - len(invalid)  # version 1 wrote one warning per invalid key, last
        ev.own = warnings[:split]
        ev.keyed = dict(zip(invalid, warnings[split:], strict=True))
        ev.version1_source = waf.get("timestamp_source")
        if ev.crash is not None:
            ev.inexact.append(f"version 1 raised {ev.crash}: its document is not known")
        return ev

    @property
    def waf(self) -> Doc:
        waf: Doc = self.doc["imperva"]["waf"]
        return waf

    def reject(self, key: str, raw: str, message: str) -> None:
        """The core's ``Draft::reject``: raw text under ``imperva.waf.invalid``, a warning."""
        self.waf.setdefault("invalid", {})[key] = raw
        self.keyed[key] = f"{key}: {message}"

    def finish(self) -> None:
        order = list(self.typed)
        unknown = [k for k in self.keyed if k not in order]
        if unknown:
            raise AssertionError(f"warnings for keys version 1 did not report as typed: {unknown}")
        warnings = self.own + [self.keyed[k] for k in order if k in self.keyed] + self.timestamp
        if warnings:
            self.waf["warnings"] = warnings
        else:
            self.waf.pop("warnings", None)
        if not self.waf.get("invalid", True):
            del self.waf["invalid"]


