"""The syslog sink against a real receiver: Debian's rsyslogd started by each test (tests/servers/
rsyslog.py), plain TCP, TLS with a test CA, and UDP. Every wait polls for a condition with a
deadline; nothing asserts how long anything took."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from tests.servers.rsyslog import Pki, RsyslogServer, make_pki, refuses_connections
from wafpipe.decode.reader import read_path
from wafpipe.errors import ConfigError
from wafpipe.fields.arrow import column
from wafpipe.model import Batch, Context, Event
from wafpipe.sinks.syslog import SyslogSink, SyslogSinkConfig, build
from wafpipe.sinks.syslog.framing import cef_header, cef_value, frame, rfc3164, rfc5424
from wafpipe.tools.generate import generate_files

DEADLINE_S = 120.0  # a hang guard only
ID = re.compile(r'\[wafpipe@32473 id="([^"]+)"\] ')


def wait_until(condition: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:g} s")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[RsyslogServer]:
    with RsyslogServer(tmp_path / "rsyslog") as server:
        yield server


def corpus(root: Path, formats: tuple[str, ...] = ("cef", "leef"), events: int = 300) -> list[Path]:
    start, end = datetime(2024, 6, 10, 6, tzinfo=UTC), datetime(2024, 6, 10, 7, tzinfo=UTC)
    paths: list[Path] = []
    for i, fmt in enumerate(formats):
        paths += generate_files(root / fmt, events=events, files=2, fmt=fmt, attack_ratio=0.3, start=start, end=end,
                                seed=40 + i)  # fmt: skip
    return paths


def batches(paths: list[Path]) -> Iterator[Batch]:
    for p in paths:
        yield from read_path(p, batch_rows=97).batches(file_key=p.name)


def expected(paths: list[Path]) -> dict[str, list[Event]]:
    """file name → its events in order."""
    return {p.name: [e for e in read_path(p).items() if isinstance(e, Event)] for p in paths}


def sink_for(tmp: Path, port: int, **settings: Any) -> SyslogSink:
    config = SyslogSinkConfig.model_validate({"type": "syslog", "host": "127.0.0.1", "port": port, **settings})
    sink = build(config, Context(data_dir=tmp / "data"))
    sink.backoff = (0.05, 0.5)  # retry often: the tests wait on conditions, not on timers
    return sink


def received_ids(lines: list[str]) -> list[str]:
    ids = []
    for line in lines:
        m = ID.search(line)
        assert m, f"a message without the event id: {line[:200]}"
        ids.append(m[1])
    return ids


def assert_each_once_in_order(lines: list[str], want: dict[str, list[Event]]) -> None:
    ids = received_ids(lines)
    dup = {i for i in ids if ids.count(i) > 1}
    assert not dup, f"{len(dup)} events received twice"
    every = [e.id for events in want.values() for e in events]
    assert set(ids) == set(every), f"{len(set(every) - set(ids))} events missing, {len(set(ids) - set(every))} foreign"
    position = {i: n for n, i in enumerate(ids)}
    for name, events in want.items():
        order = [position[e.id] for e in events]
        assert order == sorted(order), f"the events of {name} arrived out of order"


# ------------------------------------------------------------------------------ framing
def test_framing_and_cef_escaping() -> None:
    msg = rfc5424(134, 0.25, "my host", "wafpipe", "7", "waf", "-", b"x")
    assert msg == b"<134>1 1970-01-01T00:00:00.250Z my_host wafpipe 7 waf - x"
    assert rfc3164(134, 0, "h", "wafpipe", b"x") == b"<134>Jan  1 00:00:00 h wafpipe: x"
    assert frame(b"a\nb", "octet_counting") == b"3 a\nb"
    assert frame(b"a\nb", "newline") == b"a b\n"
    assert cef_header("a|b\\c\nd") == "a\\|b\\\\c d"
    assert cef_value("k=v|w\\x\r\ny\nz") == "k\\=v|w\\\\x\\ny\\nz"


def test_tls_settings_need_tls_and_cert_needs_key(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="apply to transport"):
        SyslogSinkConfig.model_validate({"type": "syslog", "host": "h", "ca_file": str(tmp_path)})
    with pytest.raises(ValidationError, match="cert_file and key_file"):
        SyslogSinkConfig.model_validate({"type": "syslog", "host": "h", "transport": "tls", "cert_file": "c"})
    assert SyslogSinkConfig.model_validate({"type": "syslog", "host": "h", "transport": "tls"}).address == ("h", 6514)


# ------------------------------------------------------------------------------ real receiver
def test_every_event_arrives_once_in_order_as_cef_over_tcp(tmp_path: Path, receiver: RsyslogServer) -> None:
    paths = corpus(tmp_path / "in")
    want = expected(paths)
    sink = sink_for(tmp_path, receiver.port)
    try:
        for batch in batches(paths):
            assert sink.write(batch).spooled == len(batch)
        assert sink.flush(DEADLINE_S)
    finally:
        sink.close()
    total = sum(map(len, want.values()))
    lines = receiver.wait_for(total)
    assert_each_once_in_order(lines, want)
    by_id = dict(zip(received_ids(lines), lines, strict=True))
    for events in want.values():
        for e in events:
            body = ID.split(by_id[e.id], maxsplit=1)[2]
            original = e.doc["event"]["original"]
            if original.startswith("CEF:"):
                assert body == original  # passed through as Imperva sent it
            else:
                assert body.startswith("CEF:0|Incapsula|SIEMintegration|")
                assert f"src={e.doc['source']['ip']}" in body
                query = (e.doc.get("url") or {}).get("query")
                if query:
                    assert "qstr=" + query.replace("\\", "\\\\").replace("=", "\\=") in body


def test_re_encoded_cef_decodes_to_the_same_fields(tmp_path: Path, receiver: RsyslogServer) -> None:
    """LEEF events re-encoded as CEF, fed back to wafpipe's own decoder, give the same values."""
    paths = corpus(tmp_path / "in", formats=("leef", "w3c"), events=150)
    want = expected(paths)
    sink = sink_for(tmp_path, receiver.port)
    try:
        for batch in batches(paths):
            sink.write(batch)
        assert sink.flush(DEADLINE_S)
    finally:
        sink.close()
    lines = receiver.wait_for(sum(map(len, want.values())))
    back = tmp_path / "back.log"
    back.write_text("".join(ID.split(line, maxsplit=1)[2] + "\n" for line in lines))
    decoded = [e for e in read_path(back).items() if isinstance(e, Event)]
    originals = {e.id: e.doc for events in want.values() for e in events}
    assert len(decoded) == len(lines)
    for line, event in zip(lines, decoded, strict=True):
        before = originals[ID.search(line)[1]]  # type: ignore[index]
        for path in ("source.ip", "url.original", "url.query", "http.request.method", "http.response.status_code",
                     "imperva.waf.site.id", "imperva.waf.request_headers", "network.forwarded_ip"):  # fmt: skip
            assert _get(event.doc, path) == _get(before, path), path


def _get(doc: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        doc = doc.get(part) if isinstance(doc, dict) else None  # type: ignore[assignment]
    return doc


def test_json_documents_with_rfc3164_and_newline_framing(tmp_path: Path, receiver: RsyslogServer) -> None:
    paths = corpus(tmp_path / "in", formats=("w3c",), events=100)
    want = expected(paths)
    sink = sink_for(tmp_path, receiver.port, format="json", protocol="rfc3164", framing="newline",
                    hostname="waf-collector", app_name="imperva", facility="local3", severity="notice")  # fmt: skip
    assert sink.needs_documents
    try:
        for batch in batches(paths):
            sink.write(batch)
        assert sink.flush(DEADLINE_S)
    finally:
        sink.close()
    lines = receiver.wait_for(sum(map(len, want.values())))
    head = re.compile(r"^<157>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d waf-collector imperva: ")
    docs = [orjson.loads(head.sub("", line)) for line in lines]
    assert all(head.match(line) for line in lines)
    assert docs == [e.doc for events in want.values() for e in events]


def test_receiver_down_keeps_accepting_then_delivers_everything_once(tmp_path: Path, receiver: RsyslogServer) -> None:
    paths = corpus(tmp_path / "in", events=200)
    want = expected(paths)
    all_batches = list(batches(paths))
    first, rest = all_batches[:3], all_batches[3:]
    sink = sink_for(tmp_path, receiver.port)
    try:
        for batch in first:
            sink.write(batch)
        assert sink.flush(DEADLINE_S)
        receiver.wait_for(sum(map(len, first)))
        receiver.stop()
        assert refuses_connections(receiver.port)
        for batch in rest:  # accepted (durable in the spool) while nobody listens
            assert sink.write(batch).spooled == len(batch)
        wait_until(lambda: sink.stats.failing_since is not None, "the sender noticing the receiver is down")
        assert sink.pending_bytes > 0 and not sink.flush(0)
        assert "cannot send to tcp://127.0.0.1" in (sink.stats.last_error or "")
        receiver.restart()
        assert sink.flush(DEADLINE_S)
        assert sink.stats.failing_since is None
    finally:
        sink.close()
    assert_each_once_in_order(receiver.wait_for(sum(map(len, want.values()))), want)


def test_a_restart_sends_what_was_spooled_and_replayed_batches_are_not_spooled_twice(
    tmp_path: Path, receiver: RsyslogServer
) -> None:
    paths = corpus(tmp_path / "in", formats=("cef",), events=200)
    want = expected(paths)
    receiver.stop()
    sink = sink_for(tmp_path, receiver.port)
    for batch in batches(paths):
        sink.write(batch)
    sink.close()  # a collector stopping with everything undelivered
    receiver.restart()
    again = sink_for(tmp_path, receiver.port)
    try:
        results = [again.write(batch) for batch in batches(paths)]  # the pipeline replays the files
        assert sum(r.spooled for r in results) == 0
        assert sum(r.duplicates for r in results) == sum(map(len, want.values()))
        assert again.flush(DEADLINE_S)
    finally:
        again.close()
    assert_each_once_in_order(receiver.wait_for(sum(map(len, want.values()))), want)


def test_tls_delivers_with_the_right_ca_and_names_the_certificate_problem_otherwise(
    tmp_path: Path, pki: Pki
) -> None:
    paths = corpus(tmp_path / "in", formats=("cef",), events=100)
    want = expected(paths)
    with RsyslogServer(tmp_path / "rsyslog", pki) as rs:
        wrong = sink_for(tmp_path / "wrong", rs.port, transport="tls", host="localhost", ca_file=str(pki.other_ca))
        try:
            for batch in batches(paths):
                wrong.write(batch)
            wait_until(lambda: wrong.stats.last_error is not None, "the handshake failing")
            error = wrong.stats.last_error or ""
            assert "TLS certificate of tls://localhost" in error and "not accepted" in error, error
            assert "unable to get local issuer certificate" in error and str(pki.other_ca) in error, error
            assert not wrong.flush(0)
        finally:
            wrong.close()
        bad_name = sink_for(tmp_path / "name", rs.port, transport="tls", host="127.0.0.1", ca_file=str(pki.ca),
                            server_name="elsewhere.example")  # fmt: skip
        try:
            bad_name.write(next(batches(paths)))
            wait_until(lambda: bad_name.stats.last_error is not None, "the name check failing")
            assert "Hostname mismatch" in (bad_name.stats.last_error or ""), bad_name.stats.last_error
        finally:
            bad_name.close()
        assert rs.lines() == []
        right = sink_for(tmp_path / "right", rs.port, transport="tls", host="localhost", ca_file=str(pki.ca))
        try:
            for batch in batches(paths):
                right.write(batch)
            assert right.flush(DEADLINE_S)
        finally:
            right.close()
        assert_each_once_in_order(rs.wait_for(sum(map(len, want.values()))), want)


def test_udp_sends_each_event_as_one_datagram(tmp_path: Path, receiver: RsyslogServer) -> None:
    """UDP confirms nothing; on the loopback every datagram arrives, which is what this checks."""
    paths = corpus(tmp_path / "in", formats=("cef",), events=20)
    want = expected(paths)
    sink = sink_for(tmp_path, receiver.port, transport="udp")
    try:
        for batch in batches(paths):
            sink.write(batch)
        assert sink.flush(DEADLINE_S)
    finally:
        sink.close()
    ids = received_ids(receiver.wait_for(sum(map(len, want.values()))))
    assert sorted(ids) == sorted(e.id for events in want.values() for e in events)


def test_cef_columns_are_read_without_documents(tmp_path: Path) -> None:
    """A CEF sink does not ask the decode workers for JSON documents."""
    sink = sink_for(tmp_path, 9)
    assert not sink.needs_documents
    batch = next(batches(corpus(tmp_path / "in", formats=("cef",), events=5)))
    assert column(batch.events, "event.original").to_pylist()[0].startswith("CEF:")


def test_a_tls_file_that_cannot_be_read_is_a_configuration_error(tmp_path: Path) -> None:
    config = SyslogSinkConfig.model_validate({"type": "syslog", "host": "localhost", "transport": "tls",
                                              "ca_file": str(tmp_path / "missing.pem")})  # fmt: skip
    with pytest.raises(ConfigError, match="cannot load its TLS files"):
        build(config, Context(data_dir=tmp_path))


def test_a_receiver_that_wants_a_client_certificate_gets_it_or_says_why_not(tmp_path: Path, pki: Pki) -> None:
    paths = corpus(tmp_path / "in", formats=("cef",), events=50)
    want = expected(paths)
    # Batches for the anonymous sink, one at a time: rsyslog refuses after the handshake, and on a
    # loaded machine it may do so after the sink's watch of a new connection; the next Batch then
    # finds the connection closed, connects again and is watched again (no timing assumed).
    spare = batches(corpus(tmp_path / "spare", formats=("cef",), events=2000))

    def refused(sink: SyslogSink) -> bool:
        if sink.stats.last_error is None:
            sink.write(next(spare))
        return sink.stats.last_error is not None

    with RsyslogServer(tmp_path / "rsyslog", pki, client_certs=True) as rs:
        anonymous = sink_for(tmp_path / "anon", rs.port, transport="tls", host="localhost", ca_file=str(pki.ca))
        try:
            wait_until(lambda: refused(anonymous), "the receiver refusing the connection")
            error = anonymous.stats.last_error or ""
            assert f"the receiver tls://localhost:{rs.port} refused the TLS connection" in error, error
            assert "client certificate" in error, error
            assert not anonymous.flush(0)
        finally:
            anonymous.close()
        assert rs.lines() == []
        client = sink_for(tmp_path / "client", rs.port, transport="tls", host="localhost", ca_file=str(pki.ca),
                          cert_file=str(pki.client_cert), key_file=str(pki.client_key))  # fmt: skip
        try:
            for batch in batches(paths):
                client.write(batch)
            assert client.flush(DEADLINE_S)
        finally:
            client.close()
        assert_each_once_in_order(rs.wait_for(sum(map(len, want.values()))), want)
