"""What the embedded store keeps: days (or a standard's profile) per dataset, per namespace, and
which namespace an event is in (:class:`Routing`, as the sink routes events)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from wafpipe.config.base import _Model, namespace_keys

DATASETS = ("security", "access")  # the keys of ``retention_days``


@dataclass(frozen=True)
class Routing:
    """Which namespace an event belongs to, as the sink's ``namespace`` and ``namespace_rules``
    say: ``rules`` are (match, value, namespace), the first match wins (as the cluster sinks route)."""

    default: str = "default"
    rules: tuple[tuple[str, str, str], ...] = ()

    @classmethod
    def of(cls, default: str, rules: Any) -> Routing:
        """From a sink's configuration (``namespace_rules`` entries)."""
        return cls(default, tuple((r.match, r.value, r.namespace) for r in rules))

    def namespaces(self) -> list[str]:
        """Every namespace these rules can give an event."""
        return list(dict.fromkeys([self.default, *(ns for _, _, ns in self.rules)]))


@dataclass(frozen=True)
class Profile:
    """A retention that a standard asks for: kept ``keep_days``, of which the first
    ``searchable_days`` at hand (a cluster's hot and warm tiers; later, cold). The embedded store
    keeps everything searchable, so it uses ``keep_days`` only."""

    name: str
    keep_days: int
    searchable_days: int
    why: str


PROFILES = {p.name: p for p in (
    Profile("pci-dss", 365, 90, "PCI DSS 10.5.1: audit logs kept at least twelve months, the last three "
            "immediately available for analysis"),
    Profile("soc2", 365, 90, "SOC 2 CC7.2/CC7.3: a year of security monitoring evidence, the span of a Type II audit"),
    Profile("hipaa", 6 * 365, 90, "HIPAA 164.316(b)(2)(i): records kept six years"),
)}  # fmt: skip
ProfileName = Literal["pci-dss", "soc2", "hipaa"]
Days = Annotated[int, Field(ge=1)] | ProfileName

class DatasetDays(_Model):
    """Days (or a profile) per dataset: ``{security = 400, access = 90}``. Alone, one namespace's
    override (``retention_days.namespaces.<ns>``), where a dataset it leaves out follows the
    default; as :class:`Retention`, the default, where one left out is kept forever."""

    security: Days | None = None
    access: Days | None = None


def _days(value: int | str | None) -> int | None:
    return PROFILES[value].keep_days if isinstance(value, str) else value


def _describe(days: DatasetDays, fallback: DatasetDays | None = None) -> str:
    out = []
    for name in DATASETS:
        value = getattr(days, name)
        if value is None and fallback is not None:
            value = getattr(fallback, name)
        profile = f" ({value})" if isinstance(value, str) else ""
        out.append(f"{name} {_days(value)} days{profile}" if value is not None else f"{name} kept forever")
    return ", ".join(out)


class Retention(DatasetDays):
    """Days to keep each dataset; None keeps it forever. The configuration's ``retention_days``
    table (``retention_days = {security = 400, access = 90}``), or one number for both; its
    ``namespaces`` give namespaces (as the sink's ``namespace_rules`` route events) their own."""

    namespaces: Annotated[dict[str, Days | DatasetDays], AfterValidator(namespace_keys)] = Field(default_factory=dict)

    @classmethod
    def of(cls, days: int | str | Retention | None) -> Retention:
        """A setting as written in the configuration: one number or profile for both datasets, or
        per dataset."""
        if days is None:
            return cls()
        if isinstance(days, Retention):
            return days
        return cls(security=days, access=days)  # type: ignore[arg-type]

    def days(self, dataset: str) -> int | None:
        """How many days ``dataset`` is kept (None: forever), its profile resolved."""
        return _days(getattr(self, dataset))

    def override(self, namespace: str) -> DatasetDays | None:
        """``namespace``'s own retention, one value spread over both datasets (None: it has none)."""
        value = self.namespaces.get(namespace)
        if value is None or isinstance(value, DatasetDays):
            return value
        return DatasetDays(security=value, access=value)

    def namespace_days(self, namespace: str, dataset: str) -> int | None:
        """How many days ``dataset`` of ``namespace`` is kept: its override, else the default."""
        own = self.override(namespace)
        value = getattr(own, dataset) if own is not None else None
        return _days(value) if value is not None else self.days(dataset)

    def describe(self) -> str:
        """``security 365 days (pci-dss), access kept forever`` — for messages; then each namespace
        with its own: ``; namespace marketing: security 30 days, access 30 days``."""
        text = _describe(self)
        for name in sorted(self.namespaces):
            text += f"; namespace {name}: {_describe(self.override(name), self)}"  # type: ignore[arg-type]
        return text

    def __bool__(self) -> bool:
        return self.security is not None or self.access is not None or bool(self.namespaces)

    def cutoffs(self, now: datetime) -> dict[str, datetime]:
        """Dataset → the time before which its events are deleted (only datasets with a limit;
        namespaces with their own: :mod:`.namespaces`)."""
        return {name: now - timedelta(days=days) for name in DATASETS if (days := self.days(name)) is not None}
