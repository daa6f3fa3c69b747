"""The Splunk HEC sink against a HEC-shaped local server (tests/servers/splunk_hec.py): every event
once and in order, 503s retried, acknowledgement waited for, a bad event dead-lettered with HEC's
reason, the token never in a log line or an error. Waits poll a condition under a deadline."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.servers.splunk_hec import HecServer
from wafpipe.decode.reader import read_path
from wafpipe.errors import ConfigError
from wafpipe.model import Batch, Context, Event
from wafpipe.sinks.splunk_hec import SplunkHecSink, SplunkHecSinkConfig, build
from wafpipe.tools.generate import generate_files

DEADLINE_S = 120.0
TOKEN = "0b1c2d3e-hec-test-token-5f6a7b8c"  # noqa: S105 - a test token


class Recorder:
    """The StateRecorder part the sink uses: dead letters and health."""

    def __init__(self) -> None:
        self.dead: list[dict[str, Any]] = []

    def add_dead_letters(self, records: list[dict[str, Any]]) -> None:
        self.dead += records

    def set_health(self, component: str, **fields: Any) -> None:
        pass


def corpus(root: Path, events: int = 150) -> list[Path]:
    start, end = datetime(2024, 6, 10, 6, tzinfo=UTC), datetime(2024, 6, 10, 7, tzinfo=UTC)
    return (generate_files(root / "cef", events=events, files=2, fmt="cef", start=start, end=end, seed=3)
            + generate_files(root / "w3c", events=events, files=1, fmt="w3c", start=start, end=end, seed=4))  # fmt: skip


def batches(paths: list[Path]) -> Iterator[Batch]:
    for p in paths:
        yield from read_path(p, batch_rows=53).batches(file_key=p.name)


def events_of(paths: list[Path]) -> list[Event]:
    return [e for p in paths for e in read_path(p).items() if isinstance(e, Event)]


def sink_for(tmp: Path, url: str, monkeypatch: pytest.MonkeyPatch, state: Recorder | None = None,
             **settings: Any) -> SplunkHecSink:  # fmt: skip
    monkeypatch.setenv("WAFPIPE_TEST_HEC_TOKEN", TOKEN)
    config = SplunkHecSinkConfig.model_validate({"type": "splunk_hec", "url": url, "token_env": "WAFPIPE_TEST_HEC_TOKEN",
                                                 "batch_size": 40, **settings})  # fmt: skip
    sink = build(config, Context(data_dir=tmp / "data", state=state))  # type: ignore[arg-type]
    sink.opt = type(sink.opt)(**{**sink.opt.__dict__, "retry_backoff_s": 0.02, "retry_max_backoff_s": 0.2})
    return sink


def run(sink: SplunkHecSink, paths: list[Path]) -> None:
    try:
        for batch in batches(paths):
            assert sink.write(batch).spooled == len(batch)
        assert sink.flush(DEADLINE_S), sink.stats.last_error
    finally:
        sink.close()


def test_every_event_once_in_order_with_settings_and_503s_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    paths = corpus(tmp_path / "in")
    want = events_of(paths)
    with HecServer(TOKEN, busy_first=4) as hec:
        sink = sink_for(tmp_path, hec.url, monkeypatch, sourcetype="imperva:cef", index="waf", source="wafpipe-test",
                        host="collector-1")  # fmt: skip
        with caplog.at_level(logging.INFO, logger="wafpipe.sinks.splunk_hec"):
            run(sink, paths)
        assert hec.statuses[:4] == [503] * 4 and set(hec.statuses[4:]) == {200}
        assert hec.ids() == [e.id for e in want]
        first = hec.events[0]
        assert {k: first[k] for k in ("sourcetype", "index", "source", "host")} == {
            "sourcetype": "imperva:cef", "index": "waf", "source": "wafpipe-test", "host": "collector-1"}
        for got, event in zip(hec.events, want, strict=True):
            assert got["event"] == event.doc
            assert got["time"] == pytest.approx(datetime.fromisoformat(event.doc["@timestamp"]).timestamp(), abs=1e-3)
    assert "Server is busy" in caplog.text and "delivering again" in caplog.text
    assert TOKEN not in caplog.text


def test_acknowledgement_is_waited_for_on_one_channel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = corpus(tmp_path / "in", events=60)
    with HecServer(TOKEN, ack=True, ack_after_polls=2) as hec:
        sink = sink_for(tmp_path, hec.url, monkeypatch, ack=True)
        run(sink, paths)
        assert hec.ids() == [e.id for e in events_of(paths)]
        assert len(hec.channels) == 1


def test_a_bad_event_is_dead_lettered_and_the_others_delivered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = corpus(tmp_path / "in", events=60)
    want = events_of(paths)
    bad = {want[5].id, want[41].id, want[100].id}
    state = Recorder()
    with HecServer(TOKEN, reject_ids=frozenset(bad)) as hec:
        sink = sink_for(tmp_path, hec.url, monkeypatch, state=state)
        run(sink, paths)
        assert hec.ids() == [e.id for e in want if e.id not in bad]
    assert sorted(d["id"] for d in state.dead) == sorted(bad)
    assert all(d["kind"] == "sink_rejected" and "Invalid data format (code 6)" in d["reason"] for d in state.dead)
    assert sink.stats.dead_lettered == 3


def test_a_wrong_token_is_retried_and_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    paths = corpus(tmp_path / "in", events=20)
    with HecServer("another-token") as hec:
        sink = sink_for(tmp_path, hec.url, monkeypatch)
        try:
            with caplog.at_level(logging.INFO, logger="wafpipe.sinks.splunk_hec"):
                for batch in batches(paths):
                    sink.write(batch)
                assert not sink.flush(0)
                deadline = time.monotonic() + DEADLINE_S
                while sink.stats.failed_requests < 3:  # retried, not given up
                    assert time.monotonic() < deadline, "the sender did not retry"
                    sink.flush(0.05)
        finally:
            sink.close()
        assert hec.events == [] and f"Splunk {TOKEN}" in hec.auth_headers
    assert "HTTP 401: Invalid token (code 4)" in (sink.stats.last_error or "")
    assert TOKEN not in caplog.text and TOKEN not in (sink.stats.last_error or "")


def test_replayed_batches_are_not_sent_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = corpus(tmp_path / "in", events=40)
    with HecServer(TOKEN) as hec:
        run(sink_for(tmp_path, hec.url, monkeypatch), paths)
        again = sink_for(tmp_path, hec.url, monkeypatch)
        try:
            assert sum(again.write(b).duplicates for b in batches(paths)) == len(events_of(paths))
            assert again.flush(DEADLINE_S)
        finally:
            again.close()
        assert hec.ids() == [e.id for e in events_of(paths)]


def test_the_token_comes_from_the_environment_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAFPIPE_TEST_HEC_MISSING", raising=False)
    config = SplunkHecSinkConfig.model_validate({"type": "splunk_hec", "url": "https://splunk.example:8088",
                                                 "token_env": "WAFPIPE_TEST_HEC_MISSING"})  # fmt: skip
    with pytest.raises(ConfigError, match="WAFPIPE_TEST_HEC_MISSING"):
        build(config, Context(data_dir=tmp_path))
    with pytest.raises(ValueError, match="token"):
        SplunkHecSinkConfig.model_validate({"type": "splunk_hec", "url": "https://s:8088", "token": TOKEN})


def test_over_tls_delivery_is_verified_by_the_ca_and_an_unknown_ca_keeps_the_events_spooled(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HEC over HTTPS with a certificate of a test CA: trusting another CA, every request is refused
    at the handshake, the error says so and names the CA file, and nothing is acknowledged; the same
    spool drained by a sink that trusts the right CA delivers every event, once and in order."""
    from tests.servers.rsyslog import make_pki

    pki = make_pki(tmp_path / "pki")
    paths = corpus(tmp_path / "in", events=30)
    want = [e.id for e in events_of(paths)]
    spool = tmp_path / "spool"
    with HecServer(TOKEN, tls=(pki.cert, pki.key)) as hec:
        assert hec.url.startswith("https://localhost:")
        wrong = sink_for(tmp_path, hec.url, monkeypatch, ca_file=str(pki.other_ca), spool_dir=str(spool))
        try:
            for batch in batches(paths):
                assert wrong.write(batch).spooled == len(batch)
            deadline = time.monotonic() + DEADLINE_S
            while wrong.stats.failed_requests < 2:  # refused, and tried again: never given up
                assert time.monotonic() < deadline, "the sender did not try"
                assert not wrong.flush(0.05)
        finally:
            wrong.close()
        error = wrong.stats.last_error or ""
        assert "TLS certificate is not trusted (unable to get local issuer certificate)" in error, error
        assert str(pki.other_ca) in error and TOKEN not in error
        assert hec.events == [] and hec.handshake_failures >= 2
        assert wrong.stats.dead_lettered == 0

        right = sink_for(tmp_path, hec.url, monkeypatch, ca_file=str(pki.ca), spool_dir=str(spool))
        try:
            right.open()  # as the collector does at start: the sender drains what the spool holds
            assert right.pending_bytes > 0
            assert right.flush(DEADLINE_S), right.stats.last_error
        finally:
            right.close()
        assert hec.ids() == want


def test_a_ca_file_that_cannot_be_read_is_a_configuration_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "not-a-ca.pem").write_text("not a certificate\n")
    for ca_file in (tmp_path / "missing.pem", tmp_path / "not-a-ca.pem"):
        with pytest.raises(ConfigError, match=f"cannot load ca_file {ca_file}"):
            sink_for(tmp_path, "https://localhost:8088", monkeypatch, ca_file=str(ca_file))
