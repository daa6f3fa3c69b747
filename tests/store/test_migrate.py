"""``wafpipe store migrate``: a version-1 store becomes a version-2 one (:mod:`wafpipe.store.migrate`).

The version-1 store is rebuilt from ``fixtures/version1`` (what version 1's collector stored for a
set of generated files, see its ``make_fixture.py``) with version 1's own DDL. The same files are
drawn again here from the same seeds and read by today's reader, at the paths version 1 read them
from: every migrated event must equal what version 2 makes of that line. Files with a header
compare by id (version 2's ids are version 1's); headerless files compare by (identity, ordinal),
because version 1 digested the whole body where version 2 digests the first event line, so there
the migrated row keeps a version-1 id that differs from today's.
"""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pytest

from tests.store.fixtures.version1.make_fixture import KEY_ID, write_inputs
from wafpipe.decode.reader import FileReader
from wafpipe.model import FileInfo
from wafpipe.sinks.duckdb.sink import DuckDBSink
from wafpipe.store import rollup
from wafpipe.store.connection import ReadOnlyStore
from wafpipe.store.documents import rebuild
from wafpipe.store.migrate import MigrateError, backup_path, migrate, problems_path
from wafpipe.store.schema import SCHEMA_VERSION, stored_version

FIXTURE = Path(__file__).parent / "fixtures" / "version1"
MANIFEST = json.loads((FIXTURE / "manifest.json").read_text())

# Version 1's tables, as wafpipe c5e40ee created them: ``_DDL`` and ``_META_DDL`` of
# src/wafpipe/sinks/duckdb.py (the typed columns are the COLUMNS of src/wafpipe/sinks/duckdb_rows.py).
V1_EVENTS_DDL = (
    "CREATE TABLE IF NOT EXISTS events (id VARCHAR NOT NULL, ts TIMESTAMP NOT NULL, site VARCHAR, site_id VARCHAR, "
    "account_id VARCHAR, source_ip VARCHAR, country VARCHAR, action VARCHAR, action_class VARCHAR, outcome VARCHAR, "
    "kind VARCHAR, attack_type VARCHAR, status INTEGER, method VARCHAR, host VARCHAR, path VARCHAR, rule VARCHAR, "
    "security_event BOOLEAN, user_agent VARCHAR, doc VARCHAR NOT NULL USING COMPRESSION zstd)"
)
V1_META_DDL = "CREATE TABLE IF NOT EXISTS wafpipe_meta (key VARCHAR PRIMARY KEY, value VARCHAR)"
# The ECS field each typed column copies (version 1's COLUMNS), to fill them as version 1 did.
V1_COLUMNS = {
    "site": "imperva.waf.site.name", "site_id": "imperva.waf.site.id", "account_id": "imperva.waf.account.id",
    "source_ip": "source.ip", "country": "source.geo.country_iso_code", "action": "imperva.waf.action",
    "action_class": "imperva.waf.action_class", "outcome": "event.outcome", "kind": "event.kind",
    "attack_type": "imperva.waf.attack_type", "status": "http.response.status_code",
    "method": "http.request.method", "host": "url.domain", "path": "url.path", "rule": "rule.name",
    "security_event": "imperva.waf.security_event", "user_agent": "user_agent.original",
}  # fmt: skip
# Version 1's state ``files`` table (src/wafpipe/state_schema.py of c5e40ee).
V1_STATE_FILES_DDL = """CREATE TABLE files (
    key TEXT PRIMARY KEY, source TEXT NOT NULL, name TEXT NOT NULL, path TEXT,
    size INTEGER, mtime REAL, identity TEXT,
    status TEXT NOT NULL CHECK (status IN ('seen','in_progress','done','failed','quarantined')),
    next_ordinal INTEGER NOT NULL DEFAULT 0, counts TEXT NOT NULL DEFAULT '{}',
    first_seen REAL NOT NULL, last_seen REAL NOT NULL, done_at REAL, error TEXT)"""


# ------------------------------------------------------------------------------------ builders
def fixture_rows() -> list[dict[str, str]]:
    with gzip.open(FIXTURE / "store.ndjson.gz") as fh:
        return [json.loads(line) for line in fh]


def build_v1_store(path: Path, rows: list[dict[str, str]] | None = None) -> Path:
    """A version-1 DuckDB file holding ``rows`` (``{id, doc}``; default: the fixture's)."""
    rows = fixture_rows() if rows is None else rows
    con = duckdb.connect(str(path))
    con.execute(V1_EVENTS_DDL)
    con.execute(V1_META_DDL)
    con.execute("INSERT INTO wafpipe_meta VALUES ('schema_version', '1')")
    con.register("v1_rows", pa.table({"id": [r["id"] for r in rows], "doc": [r["doc"] for r in rows]}))

    def leaf(path: str) -> str:  # (a row that is not JSON, as a test adds, gets NULLs)
        steps = ".".join(f'"{p}"' for p in path.split("."))
        return f"json_extract_string(CASE WHEN json_valid(doc) THEN doc END, '$.{steps}')"

    sql_types = {"status": "INTEGER", "security_event": "BOOLEAN"}
    typed = ", ".join(f"TRY_CAST({leaf(p)} AS {sql_types.get(c, 'VARCHAR')})" for c, p in V1_COLUMNS.items())
    ts = f"coalesce(TRY_CAST(TRY_CAST({leaf('@timestamp')} AS TIMESTAMPTZ) AS TIMESTAMP), TIMESTAMP '1970-01-01')"
    con.execute(f"INSERT INTO events SELECT id, {ts}, {typed}, doc FROM v1_rows")  # noqa: S608
    con.close()
    return path


def build_v1_state(data_dir: Path) -> Path:
    """Version 1's ``state.sqlite`` with the fixture's file records (the columns the migration reads)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "state.sqlite"
    db = sqlite3.connect(path)
    db.execute(V1_STATE_FILES_DDL)
    sql = ("INSERT INTO files (key, source, name, path, identity, status, first_seen, last_seen) "
           "VALUES (:key, :source, :name, :path, :identity, :status, 0, 0)")  # fmt: skip
    db.executemany(sql, json.loads((FIXTURE / "state_files.json").read_text()))
    db.commit()
    db.close()
    return path


def v1_path(relative: str) -> str:
    """Where version 1 read an input (its ``log.file.path``)."""
    return f"{MANIFEST['stage']}/{relative}"


@dataclass
class V2File:
    """Today's read of one input."""

    relative: str
    info: FileInfo
    ids: list[str]
    docs: list[dict[str, Any]]
    line_problems: int
    batches: list[Any] = field(repr=False)

    @property
    def identity(self) -> str:
        return self.info.identity.hex()

    @property
    def long_lines(self) -> bool:
        return any("line_truncated" in d["imperva"]["waf"] for d in self.docs)


def read_v2(root: Path, keys: Path) -> list[V2File]:
    out = []
    for relative in sorted(MANIFEST["inputs"]):
        path = root / relative
        opener = lambda p=path: open(p, "rb")  # type: ignore[misc]  # noqa: E731, SIM115
        reader = FileReader(opener, path.name, v1_path(relative), keys_dir=keys)
        batches = list(reader.batches())
        ids = [i for b in batches for i in b.ids]
        docs = [orjson.loads(d) for b in batches for d in b.documents or []]
        line_problems = sum(1 for p in reader.problems if p.ordinal is not None)
        out.append(V2File(relative, reader.info, ids, docs, line_problems, batches))
    return out


def _without(doc: dict[str, Any], *paths: str) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    for path in paths:
        *parents, leaf = path.split(".")
        node = doc
        for p in parents:
            node = node.get(p, {})
        node.pop(leaf, None)
    return doc


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The fixture's input files drawn again (and checked to be the same bytes), and the keys."""
    root = tmp_path_factory.mktemp("inputs")
    keys = root / "keys"
    shutil.copytree(FIXTURE / "keys", keys)
    (keys / KEY_ID / "Private.key").chmod(0o600)
    drawn = write_inputs(root, keys)
    changed = sorted(k for k in MANIFEST["inputs"] if drawn.get(k) != MANIFEST["inputs"][k])
    assert not changed and set(drawn) == set(MANIFEST["inputs"]), (
        f"the generator no longer draws the fixture's inputs ({changed[:3]}…): run "
        "tests/store/fixtures/version1/make_fixture.py again (see its docstring)"
    )
    return root, keys


@pytest.fixture(scope="module")
def today(inputs: tuple[Path, Path]) -> list[V2File]:
    return read_v2(*inputs)


@dataclass
class Migrated:
    store: Path
    report: Any
    calls: list[tuple[int, int]]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Migrated:
    root = tmp_path_factory.mktemp("migrated")
    state = build_v1_state(root / "data")
    store = build_v1_store(root / "data" / "wafpipe.duckdb")
    calls: list[tuple[int, int]] = []
    report = migrate(store, state=state, progress=lambda *call: calls.append(call), chunk_rows=500)
    return Migrated(store, report, calls)


def _events(store: Path) -> dict[str, dict[str, Any]]:
    with duckdb.connect(str(store), read_only=True) as con:
        return dict(rebuild(con.sql("SELECT * FROM events").to_arrow_table()))


# ------------------------------------------------------------------------------------ the tests
def test_every_version_1_id_is_kept_exactly_once(migrated: Migrated) -> None:
    v1_ids = [r["id"] for r in fixture_rows()]
    with duckdb.connect(str(migrated.store), read_only=True) as con:
        ids = [r[0] for r in con.execute("SELECT _id FROM events").fetchall()]
        assert stored_version(con) == SCHEMA_VERSION
        # the overview's hourly counts come with the store, one per event
        assert rollup.current(con)
        assert con.execute(f"SELECT sum(n) FROM {rollup.ROLLUP} WHERE field = ''").fetchone()[0] == len(ids)  # noqa: S608
    assert len(ids) == len(set(ids)) == len(v1_ids) == MANIFEST["rows"]
    assert set(ids) == set(v1_ids)
    r = migrated.report
    assert (r.rows, r.migrated, r.problems, r.ids_differ) == (len(v1_ids), len(v1_ids), 0, 0)
    assert not problems_path(migrated.store).exists()
    assert migrated.calls[0] == (0, len(v1_ids)) and migrated.calls[-1] == (len(v1_ids), len(v1_ids))
    assert [c[0] for c in migrated.calls] == sorted(c[0] for c in migrated.calls)


def _expected_status(f: V2File) -> str | None:
    """The checksum verdict the migration can give: version 2's, except where version 1's rows
    cannot prove ``ok`` (a mismatch, lines version 1 could not decode, a long line's cut head)."""
    status = f.info.checksum_status if f.info.has_header else None
    if status in ("ok", "mismatch") and (status == "mismatch" or f.line_problems or f.long_lines):
        return None
    return status


def test_every_event_is_what_version_2_makes_of_its_line(migrated: Migrated, today: list[V2File]) -> None:
    got = _events(migrated.store)
    compared = unproven = 0
    by_position = {(d["imperva"]["waf"]["file"]["identity"], d["imperva"]["waf"]["file"]["ordinal"]): (i, d)
                   for i, d in got.items()}  # fmt: skip
    for f in today:
        status = _expected_status(f)
        for event_id, doc in zip(f.ids, f.docs, strict=True):
            if f.info.has_header:
                assert event_id in got, (f.relative, event_id)
                mine = got[event_id]
            else:  # headerless: compared by (identity, ordinal); version 1's id is kept, and it differs
                kept, mine = by_position[(f.identity, doc["imperva"]["waf"]["file"]["ordinal"])]
                assert kept != event_id
            if status is None and f.info.has_header:
                assert "checksum_status" not in mine["imperva"]["waf"]["file"], f.relative
                doc = _without(doc, "imperva.waf.file.checksum_status")
                unproven += 1
            assert mine == doc, (f.relative, event_id)
            compared += 1
    assert compared == len(got)  # every migrated event was compared
    assert unproven > 0


def test_files_and_ledger_rows_describe_each_file(migrated: Migrated, today: list[V2File]) -> None:
    with duckdb.connect(str(migrated.store), read_only=True) as con:
        sql = "SELECT identity, name, format, checksum_status, partial, stored, facts FROM files"
        files = {r[0]: r for r in con.execute(sql).fetchall()}
        ledger = {r[0]: r[1:3] for r in con.execute("SELECT identity, next_ordinal, trusted FROM ledger").fetchall()}
        sql = "SELECT imperva.waf.file.identity, max(imperva.waf.file.ordinal) FROM events GROUP BY 1"
        last = dict(con.execute(sql).fetchall())
    with_events = [f for f in today if f.ids]
    assert set(files) == set(ledger) == {f.identity for f in with_events} == set(last)
    assert migrated.report.files == len(files)
    for f in with_events:
        identity, name, fmt, status, partial, stored, facts_text = files[f.identity]
        want = f.info.facts()
        expected = (want["name"], want["format"], _expected_status(f), want["partial"])
        assert (name, fmt, status, partial) == expected, f.relative
        facts = json.loads(facts_text)
        assert set(facts) == set(want) | {"migrated_from_version"}
        for key in ("identity", "header", "api_id", "sequence", "compression", "encrypted", "gzip_wrapped"):
            assert facts[key] == want[key], (f.relative, key)
        assert facts["w3c_fields"] == want["w3c_fields"], f.relative
        assert facts["md5"] == (want["md5"] if status == "ok" else None)
        assert stored is not None
        # next ordinal past the last stored line; trusted only for a complete headerless file
        trusted = not f.info.has_header and not want["partial"]
        assert ledger[f.identity] == (last[f.identity] + 1, trusted), f.relative
    assert migrated.report.headerless == sum(1 for f in with_events if not f.info.has_header) == 2
    # unproven: the checksum mismatch and the broken-lines file of bad-cef and of bad-w3c
    unproven = [f.relative for f in with_events if f.info.has_header and _expected_status(f) is None]
    assert migrated.report.checksum_unknown == len(unproven) == 4, unproven


def test_the_version_2_sink_takes_the_store_and_a_rewrite_adds_nothing(
    migrated: Migrated, today: list[V2File], tmp_path: Path
) -> None:
    """Reading the same files again into the migrated store adds no event of a file with a header
    (its ids are version 2's, the ledger sends it id by id). A headerless file is the exception the
    migration reports: the sink checks a headerless read id by id whatever the ledger says (it trusts
    a read only with a checksum verdict), and its rows hold version 1's ids, so its lines come in
    again under version 2's ids."""
    store = tmp_path / "copy.duckdb"
    shutil.copy(migrated.store, store)
    with ReadOnlyStore(store) as ro, ro.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM events").fetchone() == (MANIFEST["rows"],)
    written: dict[str, int] = {}
    with DuckDBSink(store) as sink:
        for f in today:
            written[f.relative] = sum(sink.write(batch).written for batch in f.batches)
        count = sink.cursor().execute("SELECT count(*) FROM events").fetchone()
    headerless = {f.relative: len(f.ids) for f in today if not f.info.has_header}
    assert {k: n for k, n in written.items() if n} == headerless
    assert count == (MANIFEST["rows"] + sum(headerless.values()),)


def test_a_second_run_has_nothing_to_do_and_the_backup_is_the_version_1_store(migrated: Migrated) -> None:
    again = migrate(migrated.store)
    assert again.nothing_to_do
    assert again.lines() == [f"{migrated.store} is already version 2, nothing to do"]
    backup = backup_path(migrated.store)
    assert migrated.report.backup == backup
    with duckdb.connect(str(backup), read_only=True) as con:
        assert stored_version(con) == 1
        assert con.execute("SELECT count(*) FROM events").fetchone() == (MANIFEST["rows"],)
    assert not Path(f"{migrated.store}.migrating").exists()


def test_lines_that_do_not_decode_go_to_the_problems_file_and_are_counted(tmp_path: Path) -> None:
    rows = fixture_rows()
    cef = next(r for r in rows if '"format":"cef"' in r["doc"] and '"header"' in r["doc"])
    broken = json.loads(cef["doc"])
    broken["event"]["original"] = "CEF:0|Incapsula|SIEMintegration|1|1|Normal"
    placeless = {"event": {"original": broken["event"]["original"]}, "@timestamp": broken["@timestamp"]}
    rows += [{"id": "broken-line", "doc": json.dumps(broken)}, {"id": "not-json", "doc": "{not json"},
             {"id": "no-file", "doc": json.dumps(placeless)}]  # fmt: skip
    store = build_v1_store(tmp_path / "p.duckdb", rows)
    build_v1_state(tmp_path)
    report = migrate(store, state=tmp_path / "state.sqlite")
    assert (report.rows, report.problems, report.migrated) == (len(rows), 3, len(rows) - 3)
    assert report.problems_file == problems_path(store)
    records = {r["id"]: r for r in map(json.loads, problems_path(store).read_text().splitlines())}
    assert set(records) == {"broken-line", "not-json", "no-file"}
    assert records["broken-line"]["line"] == "CEF:0|Incapsula|SIEMintegration|1|1|Normal"
    assert records["broken-line"]["reason"].startswith("decode:")
    assert records["not-json"]["reason"] == "the version 1 document is not JSON"
    assert records["not-json"]["doc"] == "{not json"
    assert "does not name its file" in records["no-file"]["reason"]
    assert any(str(report.problems_file) in line for line in report.lines())
    with duckdb.connect(str(store), read_only=True) as con:  # swapped all the same; the backup keeps them
        sql = "SELECT count(*) FROM events WHERE _id IN ('broken-line', 'not-json', 'no-file')"
        assert con.execute(sql).fetchone() == (0,)
    with duckdb.connect(str(backup_path(store)), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone() == (len(rows),)


def test_without_the_state_an_encrypted_files_identity_is_a_problem_not_a_guess(tmp_path: Path) -> None:
    store = build_v1_store(tmp_path / "s.duckdb")
    report = migrate(store)  # no state: the encrypted file's key line is not in its documents
    encrypted = [r for r in fixture_rows() if '"encrypted":true' in r["doc"]]
    assert encrypted and report.problems == len(encrypted)
    [(reason, n)] = report.reasons.items()
    assert n == len(encrypted) and "--state" in reason
    ids = {json.loads(line)["id"] for line in problems_path(store).read_text().splitlines()}
    assert ids == {r["id"] for r in encrypted}


def test_refusals_leave_the_store_as_it_was(tmp_path: Path) -> None:
    store = build_v1_store(tmp_path / "r.duckdb", fixture_rows()[:50])
    backup_path(store).write_bytes(b"an earlier backup")
    with pytest.raises(MigrateError, match="v1.bak exists"):
        migrate(store)
    backup_path(store).unlink()
    with pytest.raises(MigrateError, match="no store at"):
        migrate(tmp_path / "missing.duckdb")
    duckdb.connect(str(tmp_path / "other.duckdb")).close()
    with pytest.raises(MigrateError, match="no wafpipe events table"):
        migrate(tmp_path / "other.duckdb")
    script = f"import duckdb, sys\ncon = duckdb.connect({str(store)!r})\nprint('ready', flush=True)\nsys.stdin.read()"
    holder = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(MigrateError, match="held by another process") as info:
            migrate(store)
        assert "collector" in info.value.hint
    finally:
        holder.kill()
        holder.wait()
    with duckdb.connect(str(store), read_only=True) as con:
        assert stored_version(con) == 1
    assert not backup_path(store).exists() and not Path(f"{store}.migrating").exists()


def test_a_leftover_migrating_file_is_replaced_and_an_interrupted_swap_is_finished(tmp_path: Path) -> None:
    store = build_v1_store(tmp_path / "w.duckdb", fixture_rows()[:50])
    temp = Path(f"{store}.migrating")
    temp.write_bytes(b"what a killed run left")
    assert migrate(store).migrated == 50
    assert not temp.exists()
    store.rename(temp)  # as if stopped between the two renames: the backup is in place, the new store not yet
    again = migrate(store)
    assert again.recovered and store.is_file() and not temp.exists()
    assert migrate(store).nothing_to_do


def test_an_interruption_leaves_the_version_1_store_as_it_was(tmp_path: Path) -> None:
    store = build_v1_store(tmp_path / "i.duckdb")
    before = store.read_bytes()

    def interrupt(done: int, total: int) -> None:
        if done >= 1000:  # part-way through the rows, as a Ctrl-C would
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        migrate(store, progress=interrupt, chunk_rows=300)
    assert store.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["i.duckdb"]
