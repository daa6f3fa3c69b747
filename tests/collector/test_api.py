"""The one HTTP app: token on every route, /metrics by setting, Host check, the token file, bounds,
idle connections — against a real store and the real uvicorn server on a random port."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.store.conftest import Built, build
from wafpipe.collector.api import LocalApi
from wafpipe.collector.state import State
from wafpipe.errors import ConfigError
from wafpipe.store.client import API_FILE, TOKEN_ENV, TOKEN_FILE, ApiClient
from wafpipe.store.connection import ReadOnlyStore
from wafpipe.store.query.tree import And, Exists, Match, Not, Value
from wafpipe.store.query.wire import to_json
from wafpipe.store.service import ReadService

ROUTES = ["/api/health", "/api/search", "/api/count", "/api/top?field=status", "/api/histogram",
          "/api/events/abc", "/api/files", "/api/deadletters", "/metrics", "/no/such/route"]
METRICS = b"# TYPE wafpipe_events_total counter\nwafpipe_events_total 7.0\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build(tmp_path_factory.mktemp("api"), events=300)


@pytest.fixture(scope="module")
def sources(built: Built) -> Iterator[tuple[ReadOnlyStore, State]]:
    state = State(built.root / "data")
    with ReadOnlyStore(built.store) as store:
        yield store, state
    state.close()


def new_reader(sources: tuple[ReadOnlyStore, State]) -> ReadService:
    store, state = sources
    return ReadService(store.cursor, state=state, live=lambda: {"status": "ok", "files_pending": 0})


@pytest.fixture
def reader(sources: tuple[ReadOnlyStore, State]) -> Iterator[ReadService]:
    svc = new_reader(sources)
    yield svc
    svc.close()


def start(data_dir: Path, reader: ReadService | None = None, **kwargs: object) -> LocalApi:
    api = LocalApi(data_dir, reader=reader, metrics=lambda: METRICS, port=0, **kwargs)  # type: ignore[arg-type]
    api.start()
    return api


@pytest.fixture
def api(tmp_path: Path, sources: tuple[ReadOnlyStore, State], monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalApi]:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    srv = start(tmp_path / "data", new_reader(sources))  # a reader of its own: stop() closes it
    yield srv
    srv.stop()


def auth(api: LocalApi) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token}"}


def test_every_route_needs_the_token(api: LocalApi) -> None:
    with httpx.Client(base_url=api.url) as c:
        for route in ROUTES:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {api.token}"},
                            {"Authorization": api.token}):
                r = c.get(route, headers=headers)
                assert r.status_code == 401, (route, headers)
                assert api.token not in r.text and "token" in r.json()["error"]
        for route in ROUTES[:-1]:
            assert c.get(route, headers=auth(api)).status_code in (200, 404), route
        assert c.get("/no/such/route", headers=auth(api)).json() == {"error": "no such endpoint"}


def test_metrics_are_open_only_with_the_setting(tmp_path: Path, api: LocalApi) -> None:
    assert httpx.get(f"{api.url}/metrics").status_code == 401
    r = httpx.get(f"{api.url}/metrics", headers=auth(api))
    assert r.status_code == 200 and r.content == METRICS and r.headers["content-type"].startswith("text/plain")
    other = start(tmp_path / "open", metrics_without_token=True)
    try:
        assert httpx.get(f"{other.url}/metrics").content == METRICS
        assert httpx.get(f"{other.url}/api/health").status_code == 401  # only /metrics opens
    finally:
        other.stop()


def test_host_header_must_name_this_server(api: LocalApi) -> None:
    with httpx.Client(base_url=api.url, headers=auth(api)) as c:
        for host in ("evil.example", "evil.example:8080", "127.0.0.1.evil.example", "10.0.0.1", ""):
            r = c.get("/api/count", headers={"Host": host})
            assert r.status_code == 400 and "Host" in r.json()["error"], host
        for host in ("127.0.0.1", f"127.0.0.1:{api.port}", "localhost", f"LOCALHOST:{api.port}", "[::1]:1"):
            assert c.get("/api/count", headers={"Host": host}).status_code == 200, host


def test_token_file_is_0600_and_reused_across_restarts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    data = tmp_path / "data"
    first = start(data)
    token, url = first.token, first.url
    info = json.loads((data / API_FILE).read_text())
    assert info == {"url": url, "pid": os.getpid(), "token_file": str(data / TOKEN_FILE), "tls_cert_file": None}
    for name in (API_FILE, TOKEN_FILE):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    first.stop()
    assert not (data / API_FILE).exists() and (data / TOKEN_FILE).exists()
    second = start(data)
    try:
        assert second.token == token == (data / TOKEN_FILE).read_text().strip()
        assert httpx.get(f"{second.url}/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        second.stop()
    (data / TOKEN_FILE).chmod(0o644)  # loosened by hand: tightened again at the next start
    third = start(data)
    third.stop()
    assert stat.S_IMODE((data / TOKEN_FILE).stat().st_mode) == 0o600


def test_token_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "an-operator-chosen-token-0123456789")
    srv = start(tmp_path / "data")
    try:
        assert srv.token == "an-operator-chosen-token-0123456789"
        assert not (tmp_path / "data" / TOKEN_FILE).exists()
        assert json.loads((tmp_path / "data" / API_FILE).read_text())["token_file"] is None
    finally:
        srv.stop()
    monkeypatch.setenv(TOKEN_ENV, "short")
    with pytest.raises(ConfigError, match="16 characters"):
        start(tmp_path / "data")


@pytest.mark.parametrize("limit", ["-1", "0", str(2**64), "100000000", "1e3", "ten"])
def test_out_of_range_limits_are_400_and_the_app_keeps_serving(api: LocalApi, limit: str) -> None:
    with httpx.Client(base_url=api.url, headers=auth(api)) as c:
        r = c.get("/api/search", params={"limit": limit})
        assert r.status_code == 400
        assert "from 1 to 10000" in r.json()["error"] and r.json()["kind"] == "query"
        assert c.get("/api/top", params={"field": "status", "limit": limit}).status_code == 400
        assert c.get("/api/count").json()["count"] == 301


def test_routes_map_onto_the_read_service(api: LocalApi, reader: ReadService) -> None:
    client = ApiClient(api.url, api.token)
    try:
        assert client.count("status >= 400") == reader.count("status >= 400")
        page = client.search("imperva.waf.security_event:true", limit=3, fields=["source.ip", "status"])
        assert page == reader.search("imperva.waf.security_event:true", limit=3, fields=["source.ip", "status"])
        nxt = client.search(limit=2, after=page["next"], fields=["source.ip", "status"],
                            q="imperva.waf.security_event:true")
        assert nxt == reader.search("imperva.waf.security_event:true", limit=2, after=page["next"],
                                    fields=["source.ip", "status"])
        assert client.top("source.ip", limit=4) == reader.top("source.ip", limit=4)
        hour = {"since": "2024-06-10T06:00:00Z", "until": "2024-06-10T07:00:00Z"}
        assert client.histogram(interval="5m", **hour) == reader.histogram(interval="5m", **hour)
        assert client.histogram() == reader.histogram()
        one = page["events"][0]["_id"]
        assert client.event(one) == reader.event(one) and client.event("nope") is None
        assert client.files(limit=2) == reader.files(limit=2)
        assert client.dead_letters() == reader.dead_letters()
        assert client.health()["store"] == reader.health()["store"]
    finally:
        client.close()


def test_query_errors_are_400_with_the_column(api: LocalApi) -> None:
    r = httpx.get(f"{api.url}/api/count", params={"q": "status:200 and stauts:1"}, headers=auth(api))
    assert r.status_code == 400
    body = r.json()
    assert body["column"] == 16 and "stauts" in body["error"] and body["kind"] == "query"
    r = httpx.get(f"{api.url}/api/top", headers=auth(api))  # a required parameter missing
    assert r.status_code == 400 and "field" in r.json()["error"]
    assert httpx.post(f"{api.url}/api/count", headers=auth(api)).status_code == 405


def test_idle_connections_cost_no_threads_no_tracebacks_and_do_not_block_shutdown(
    api: LocalApi, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    threads = threading.active_count()
    idle = [socket.create_connection(("127.0.0.1", api.port)) for _ in range(300)]
    half = [socket.create_connection(("127.0.0.1", api.port)) for _ in range(20)]
    for s in half:
        s.sendall(b"GET /api/count HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # a request head never finished
    assert threading.active_count() <= threads + 8
    # past the cap a connection is answered 503 or closed at once: refused, never a crash
    with contextlib.suppress(httpx.TransportError):
        assert httpx.get(f"{api.url}/api/count", headers=auth(api)).status_code in (200, 503)
    for s in idle + half:
        s.close()
    deadline = time.monotonic() + 60
    ok = False
    while time.monotonic() < deadline and not ok:
        try:
            ok = httpx.get(f"{api.url}/api/count", headers=auth(api)).status_code == 200
        except httpx.HTTPError:
            ok = False
    assert ok, "the app serves again once the idle connections are gone"
    more = [socket.create_connection(("127.0.0.1", api.port)) for _ in range(50)]
    thread = api._thread  # noqa: SLF001
    api.stop()  # with idle connections still open
    assert thread is not None and not thread.is_alive()
    for s in more:
        s.close()
    text = caplog.text + capfd.readouterr().err
    assert "Traceback" not in text and not any(r.exc_info for r in caplog.records), text[-2000:]


def test_a_port_in_use_is_a_configuration_error(tmp_path: Path, api: LocalApi) -> None:
    with pytest.raises(ConfigError, match="in use"):
        LocalApi(tmp_path / "other", metrics=lambda: b"", port=api.port).start()


def test_version_one_arguments_still_start_the_api(tmp_path: Path) -> None:
    """``LocalApi(data_dir, health=…, metrics=…, query=…, port=…)`` as the collector calls it today."""
    srv = LocalApi(tmp_path, health=lambda: {"status": "ok"}, metrics=lambda: METRICS,
                   query=lambda *a: {}, port=0)
    srv.start()
    try:
        h = httpx.get(f"{srv.url}/api/health", headers=auth(srv))
        assert h.status_code == 200 and h.json()["collector"] == {"status": "ok"}
        r = httpx.get(f"{srv.url}/api/count", headers=auth(srv))
        assert r.status_code == 503 and "no embedded store" in r.json()["error"]
    finally:
        srv.stop()


def test_every_connection_sends_without_waiting_for_acks(api: LocalApi) -> None:
    """TCP_NODELAY on each accepted socket: without it a kept-alive request waited ~40 ms for the
    client's delayed ACK (checked on the server's side of a live connection, not by timing)."""
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {api.token}"}) as client:
        assert client.get("/metrics").status_code == 200
        server = api._server  # noqa: SLF001 - the live connections are the server's own
        assert server is not None
        sockets = [p.transport.get_extra_info("socket") for p in server.server_state.connections]
        assert sockets and all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in sockets)


def test_correlate_takes_a_query_tree_and_refuses_what_is_not_one(api: LocalApi) -> None:
    url = f"{api.url}/api/correlate"
    tree = to_json(And((Match("source.ip", Value("*", 0, wild=(0,)), 0), Not(Exists("rule.category", 0)))))
    ok = httpx.post(url, headers=auth(api), json={"q": tree, "group_by": ["url.domain"], "timespan_s": 86400 * 365,
                                                  "threshold": 1, "since": "2024-01-01T00:00:00Z"})  # fmt: skip
    assert ok.status_code == 200, ok.text
    assert ok.json()["groups"] and all(set(g) == {"by", "first", "last", "peak", "ids"} for g in ok.json()["groups"])
    for body, says in [
        (b"not json", "not JSON"),
        (b'{"q": {"node": "sql", "text": "1=1"}, "group_by": ["url.domain"], "timespan_s": 1, "threshold": 1}',
         "unknown node kind"),
        (b'{"q": "", "group_by": ["url.domain"], "timespan_s": 1, "threshold": 1, "drop": 1}', "unknown argument"),
        (b'{"q": {"node": "match", "field": "x\\"; DROP TABLE events", "value": {"text": "1"}}, "group_by": '
         b'["url.domain"], "timespan_s": 1, "threshold": 1}', "unknown field"),
    ]:
        bad = httpx.post(url, headers={**auth(api), "Content-Type": "application/json"}, content=body)
        assert bad.status_code == 400 and says in bad.json()["error"], (body, bad.text)
    huge = httpx.post(url, headers=auth(api), content=b"[" + b"0," * (1 << 20) + b"0]")
    assert huge.status_code == 413
    assert httpx.post(url, json={"q": ""}).status_code == 401


def test_correlate_patterns_over_http_answer_as_the_service_does(api: LocalApi, reader: ReadService) -> None:
    """The patterns beyond counts go through the API with their steps as trees or text: the client
    gets what the read service answers in-process."""
    client = ApiClient(api.url, api.token)
    blocked = Match("imperva.waf.action_class", Value("blocked", 0), 0)
    cases = [
        ("", ["source.ip"], 86400 * 365, 0, {"kind": "temporal_ordered", "steps": [blocked, "http.request.method:GET"]}),
        ("", ["source.ip"], 86400 * 365, 0, {"kind": "temporal", "steps": ["event.action:*", blocked]}),
        ("", ["url.domain"], 3600, 1, {"kind": "spike", "history_s": 86400, "factor": 2.0}),
        ("", ["url.domain"], 3600, 0, {"kind": "new_value", "distinct": "source.ip", "history_s": 86400}),
    ]
    for q, group_by, span, threshold, pattern in cases:
        since = "2020-01-01T00:00:00Z" if pattern["kind"].startswith("temporal") else None
        local = reader.correlate(q, group_by, span, threshold, **pattern, since=since)
        assert client.correlate(q, group_by, span, threshold, **pattern, since=since) == local, pattern
    assert any(reader.correlate(q, g, s, t, **p, since="2020-01-01T00:00:00Z")["groups"]
               for q, g, s, t, p in cases[:2])  # fmt: skip  # the data has blocked requests to find
    bad = httpx.post(f"{api.url}/api/correlate", headers=auth(api),
                     json={"q": "", "group_by": ["source.ip"], "timespan_s": 60, "threshold": 0, "steps": "x"})  # fmt: skip
    assert bad.status_code == 400 and "steps" in bad.json()["error"]
    client.close()
