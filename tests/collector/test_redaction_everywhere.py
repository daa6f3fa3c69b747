"""Redaction through the whole collector: a corpus with card numbers, passwords, bearer tokens and
session cookies in every format goes in; afterwards no byte of any of them is in any file under
the data directory (the embedded store, the state database, dead letters, quarantine copies, the
archive, the spools — each read the way its format stores text, not only grepped) nor in what any
sink sent (a real rsyslogd, the HEC stand-in) nor in the collector's log."""

from __future__ import annotations

import contextlib
import gzip
import json
import sqlite3
import zlib
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.collector.helpers import wafpipe
from tests.decode.samples import LEEF_ACCESS_TABS, W3C_FILE
from tests.filebuilder import SAMPLE_CEF, make_file
from tests.servers.elasticsearch import ElasticsearchServer
from tests.servers.rsyslog import RsyslogServer
from tests.servers.splunk_hec import HecServer

VISA = "4111111111111111"
VISA_SPACED = "4111 1111 1111 1111"
MASTERCARD_DASHED = "5555-5555-5555-4444"
AMEX = "378282246310005"
PASSWORD = "Hunter2-Correct-Horse"
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ3YWZwaXBlIn0.c2VjcmV0LXNpZ25hdHVyZQ"
COOKIE = "c00kieSessi0nValue77"
SECRETS = (VISA, VISA_SPACED, MASTERCARD_DASHED, AMEX, PASSWORD, BEARER, COOKIE)
HEC_TOKEN = "redaction-test-hec-token"  # noqa: S105 - a test token


def _cef(i: int) -> str:
    return (
        SAMPLE_CEF.replace("deviceExternalId=", f"deviceExternalId={i:03d}")
        .replace("request=shop.example.com/index.html",
                 f"request=shop.example.com/pay?cc\\={VISA}&password\\={PASSWORD}")
        + f" qstr=card\\={VISA_SPACED}&pwd\\={PASSWORD}"
        + f' postbody={{"card":"{AMEX}","password":"{PASSWORD}","note":"{MASTERCARD_DASHED}"}}'
        + f' additionalReqHeaders=[{{"Authorization":"Bearer {BEARER}"}},{{"Cookie":"SESSION\\={COOKIE}"}}]'
    )


def _corpus(incoming: Path) -> None:
    lines = [_cef(i) for i in range(40)]
    # A line that is no event: a dead letter, its raw bytes kept — redacted.
    lines.insert(7, f"garbage cc={VISA} password={PASSWORD} Authorization: Bearer {BEARER}")
    (incoming / "100_1.log").write_bytes(make_file(lines, compression="none"))
    leef = LEEF_ACCESS_TABS.replace("\turl=", f"\tqstr=password\\={PASSWORD}&cc\\={MASTERCARD_DASHED}\turl=")
    (incoming / "100_2.log").write_bytes(make_file([leef], compression="zlib", header={"format": "LEEF"}))
    w3c = W3C_FILE.replace('"id=1%27%20OR%201%3D1"', f'"password={PASSWORD}&cc={VISA}"').replace(
        '"shop.example.com/api/cart" ""', f'"shop.example.com/api/cart" "{{\\"cvv\\":\\"123\\",\\"card\\":\\"{AMEX}\\"}}"'
    )
    (incoming / "100_3.log").write_bytes(w3c.encode())
    # Quarantined: a checksum that does not match (stored and quarantined), and a cut zlib stream.
    (incoming / "100_4.log").write_bytes(make_file([_cef(100)], compression="none", checksum="0" * 32))
    cut = make_file([_cef(i) for i in range(200, 260)], compression="zlib")
    (incoming / "100_5.log").write_bytes(cut[: len(cut) - 40])


def _texts_of(path: Path) -> list[bytes]:
    """The file's bytes, and its text as its format stores it (a compressed or columnar file
    would hide a value from a plain grep)."""
    raw = path.read_bytes()
    out = [raw]
    if path.suffix == ".duckdb":
        con = duckdb.connect(str(path), read_only=True)
        try:
            tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
            for schema, table in tables:
                rows = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()  # noqa: S608 - our tables
                out.append(repr(rows).encode())
        finally:
            con.close()
    elif raw.startswith(b"SQLite format 3"):
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            out.append("\n".join(con.iterdump()).encode())
        finally:
            con.close()
    elif path.suffix == ".parquet":
        out.append(repr(pq.read_table(path).to_pylist()).encode())
    for inflate in (gzip.decompress, zlib.decompress):
        with contextlib.suppress(OSError, zlib.error, EOFError):
            out.append(inflate(raw))
    return out


def _leaks(blob: bytes) -> list[str]:
    return [s for s in SECRETS if s.encode() in blob]


@pytest.fixture
def receivers(tmp_path: Path):  # type: ignore[no-untyped-def]
    rsyslog = RsyslogServer(tmp_path / "rsyslog").start()
    hec = HecServer(HEC_TOKEN).start()
    es = ElasticsearchServer().start()
    es.down()  # the cluster is unreachable: its events stay in the spool under the data directory
    try:
        yield rsyslog, hec, es
    finally:
        es.stop()
        hec.stop()
        rsyslog.stop()


def test_no_secret_reaches_any_store_sink_or_log(tmp_path: Path, receivers) -> None:  # type: ignore[no-untyped-def]
    rsyslog, hec, es = receivers
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    _corpus(incoming)
    assert all(any(s.encode() in b for p in incoming.iterdir() for b in _texts_of(p)) for s in SECRETS)
    (tmp_path / "wafpipe.toml").write_text(f"""
data_dir = "data"
[[sources]]
type = "directory"
path = "incoming"
after = "keep"
[[sinks]]
type = "duckdb"
[[sinks]]
type = "archive"
path = "data/archive"
[[sinks]]
type = "elasticsearch"
hosts = ["{es.url}"]
[[sinks]]
type = "syslog"
host = "127.0.0.1"
port = {rsyslog.port}
[[sinks]]
type = "splunk_hec"
url = "{hec.url}"
token_env = "WAFPIPE_TEST_HEC_TOKEN"
[pipeline]
workers = 1
drain_timeout_s = 0
[api]
port = 0
[logging]
level = "debug"
[redaction]
""")
    run = wafpipe("run", "--once", cwd=tmp_path, env={"WAFPIPE_TEST_HEC_TOKEN": HEC_TOKEN})
    assert "Traceback" not in run.stderr, run.stderr
    log = (run.stdout + run.stderr).encode()
    assert not _leaks(log), _leaks(log)

    data = tmp_path / "data"
    files = [p for p in data.rglob("*") if p.is_file()]
    leaks = {str(p.relative_to(data)): found for p in files if (found := _leaks(b"".join(_texts_of(p))))}
    assert not leaks, leaks

    # What was there was stored, masked — not dropped: the events, the dead letter, both quarantines.
    con = duckdb.connect(str(data / "wafpipe.duckdb"), read_only=True)
    try:
        [(stored,)] = con.execute("SELECT count(*) FROM events").fetchall()
        queries = {r[0] for r in con.execute('SELECT "url".query FROM events').fetchall()}
    finally:
        con.close()
    # 40 + 1 + 2 CEF, LEEF and W3C events, 1 under a wrong checksum, those before the cut of the last
    assert stored > 44 and "card=**** **** **** 1111&pwd=[REDACTED]" in queries
    with sqlite3.connect(data / "state.sqlite") as state:
        dead_letters = state.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
    assert dead_letters >= 1
    quarantined = sorted(p.name for p in (data / "quarantine").iterdir() if not p.name.endswith(".json"))
    assert len(quarantined) == 2 and all(n.endswith(".redacted") for n in quarantined)
    assert any("[REDACTED]" in p.read_text("utf-8", "replace") for p in (data / "quarantine").iterdir())
    spooled = b"".join(p.read_bytes() for p in data.rglob("*.ndjson"))
    assert spooled.count(b"************1111") >= stored  # the cluster's spool holds every event, masked

    # The archive holds every event, masked, and no original file (an encrypted one would stay).
    assert not list((data / "archive").glob("originals/**/*.log*"))
    archived = sum(pq.read_table(p).num_rows for p in (data / "archive").rglob("*.parquet"))
    assert archived == stored
    verify = wafpipe("archive", "verify", "--path", "data/archive", cwd=tmp_path)
    assert verify.returncode == 0, verify.stdout + verify.stderr

    # The compliance report says what is in force, and quotes no secret itself.
    today = datetime.now(UTC).date().isoformat()
    report = wafpipe("report", "compliance", "--from", "2021-01-01", "--to", today, "--format", "json", cwd=tmp_path)
    assert not _leaks(report.stdout.encode())
    redaction = json.loads(report.stdout)["redaction"]
    assert redaction["configured"] and redaction["original_files"] == "not kept raw"
    assert any(r.startswith("card numbers") for r in redaction["rules"])

    # The receivers got every event, masked.
    lines = rsyslog.wait_for(stored)
    assert not _leaks("\n".join(lines).encode()) and sum("[REDACTED]" in line for line in lines) == stored
    received = repr(hec.events).encode()
    assert len(hec.events) == stored and not _leaks(received)
