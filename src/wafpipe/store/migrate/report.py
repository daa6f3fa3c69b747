"""What a migration hands back: :class:`MigrateReport`, what it did (the parts count into it as they
go), or :class:`MigrateError`, why it could not start."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from wafpipe.errors import WafpipeError
from wafpipe.store.schema import SCHEMA_VERSION


class MigrateError(WafpipeError):
    """The store cannot be migrated as it is (held by a collector, a backup in the way…)."""


@dataclass
class MigrateReport:
    """What a migration did; :meth:`lines` says it for people."""

    store: Path
    found_version: int | None
    rows: int = 0  # version-1 rows read
    migrated: int = 0  # events written to the new store
    problems: int = 0  # rows not migrated, each in the problems file
    files: int = 0  # file identities (files and ledger rows)
    checksum_unknown: int = 0  # files whose checksum verdict could not be proven
    headerless: int = 0  # files whose kept version-1 ids differ from the ones version 2 gives
    ids_differ: int = 0  # events of files with a header whose line gives another id now (kept all the same)
    reasons: Counter[str] = field(default_factory=Counter)
    recovered: bool = False  # an interrupted swap was finished
    backup: Path | None = None
    problems_file: Path | None = None

    @property
    def nothing_to_do(self) -> bool:
        return self.found_version == SCHEMA_VERSION and not self.recovered

    def lines(self) -> list[str]:
        if self.recovered:
            return [f"{self.store}: finished the swap an interrupted migration left; the version 1 store is "
                    f"{self.backup}"]  # fmt: skip
        if self.nothing_to_do:
            return [f"{self.store} is already version {SCHEMA_VERSION}, nothing to do"]
        out = [f"{self.store}: migrated {self.migrated} of {self.rows} events in {self.files} files to version "
               f"{SCHEMA_VERSION}; the version 1 store is kept as {self.backup}"]  # fmt: skip
        if self.checksum_unknown:
            out.append(f"{self.checksum_unknown} file(s): checksum verdict not recorded by version 1 and not "
                       "provable from the stored lines; their events carry no "
                       "imperva.waf.file.checksum_status")  # fmt: skip
        if self.headerless:
            out.append(f"{self.headerless} headerless file(s) keep their version 1 ids, which differ from the "
                       "ids version 2 gives their lines")  # fmt: skip
        if self.ids_differ:
            out.append(f"{self.ids_differ} event(s) give another id when decoded now; their version 1 id "
                       "was kept")  # fmt: skip
        if self.problems:
            out.append(f"{self.problems} event(s) could not be migrated; each is in {self.problems_file} (id, "
                       "line, reason) and in the backup:")  # fmt: skip
            out.extend(f"  {n} × {reason}" for reason, n in self.reasons.most_common(5))
        return out
