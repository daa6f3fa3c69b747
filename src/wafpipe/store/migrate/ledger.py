"""The new store's files and ledger tables: one row each per file identity, then the schema version,
in one transaction after the events. Why a file with a header is not trusted and a headerless one
is: :mod:`wafpipe.store.migrate`."""

from __future__ import annotations

import duckdb
import orjson

from wafpipe import clock
from wafpipe.model import FileInfo
from wafpipe.store.migrate.report import MigrateReport
from wafpipe.store.migrate.version1 import File
from wafpipe.store.schema import FILES, LEDGER, META, SCHEMA_VERSION


def files_and_ledger(new: duckdb.DuckDBPyConnection, files: list[File], report: MigrateReport) -> None:
    """One files row and one ledger row per identity, then the schema version: one transaction."""
    by_identity: dict[bytes, list[File]] = {}
    for f in files:
        if not f.problem:
            by_identity.setdefault(f.identity, []).append(f)
    now = clock.utcnow()
    new.execute("BEGIN TRANSACTION")
    for identity, group in by_identity.items():
        f = group[0]
        block = f.block
        info = FileInfo(
            name=block.get("name") or "", header=f.header, has_header=f.has_header, identity=identity,
            gzip_wrapped=bool(block.get("gzip_wrapped")), compression=block.get("compression") or "none",
            encrypted=bool(block.get("encrypted")), checksum=f.header.get("checksum") or None,
            api_id=block.get("api_id"), seq=block.get("sequence"), format=f.key[3],
            directives=list((block.get("directives") or {}).items()), w3c_fields=f.w3c_fields or [],
        )  # fmt: skip
        partial = any(g.partial for g in group)
        statuses = {g.checksum_status for g in group}
        status = statuses.pop() if len(statuses) == 1 else None
        facts = info.facts() | {"checksum_status": status, "md5": f.md5, "decoded_bytes": None, "lines": None,
                                "partial": partial, "migrated_from_version": 1}  # fmt: skip
        report.checksum_unknown += int(f.has_header and status is None)
        report.headerless += int(not f.has_header)
        row = [identity.hex(), info.name, info.format, status, partial, now, orjson.dumps(facts).decode()]
        new.execute(f"INSERT INTO {FILES} VALUES (?, ?, ?, ?, ?, ?, ?)", row)  # noqa: S608
        trusted = not f.has_header and not partial
        new.execute(f"INSERT INTO {LEDGER} VALUES (?, ?, ?, ?)",  # noqa: S608
                    [identity.hex(), max(g.last_ordinal for g in group) + 1, trusted, now])
    new.execute(f"INSERT INTO {META} VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])  # noqa: S608
    new.execute("COMMIT")
    report.files = len(by_identity)
