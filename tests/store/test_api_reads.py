"""The read service over the collector's HTTP API: ``by``, relative times, whole documents and a
300-value query go through the route and the client unchanged; errors keep their words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.store.conftest import Built
from wafpipe.collector.api import LocalApi
from wafpipe.errors import QueryError
from wafpipe.store.client import TOKEN_ENV, ApiClient
from wafpipe.store.connection import ReadOnlyStore
from wafpipe.store.limits import MAX_QUERY_CHARS
from wafpipe.store.service import ReadService


@pytest.fixture
def api(tmp_path: Path, opened: ReadOnlyStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalApi, ApiClient]]:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    srv = LocalApi(tmp_path / "data", reader=ReadService(opened.cursor), metrics=lambda: b"", port=0)
    srv.start()
    client = ApiClient(srv.url, srv.token)
    yield srv, client
    client.close()
    srv.stop()


def test_the_client_gives_the_services_answers(api: tuple[LocalApi, ApiClient], service: ReadService,
                                               built: Built, monkeypatch: pytest.MonkeyPatch) -> None:
    _, client = api
    args = {"field": "source.ip", "by": "rule.category", "q": "imperva.waf.security_event:true", "limit": 7}
    assert client.top(**args) == service.top(**args)
    assert client.top("event.type", by="related.ip") == service.top("event.type", by="related.ip")
    page = client.search("imperva.waf.security_event:true", limit=3)
    assert page == service.search("imperva.waf.security_event:true", limit=3)
    assert page["events"][0]["event"]["original"]  # whole documents, rebuilt
    monkeypatch.setenv("WAFPIPE_NOW", "2024-06-10T07:00:00Z")  # the server's clock: this process
    assert client.count(since="30m") == service.count(since="2024-06-10T06:30:00Z")
    ips = [v["value"] for v in service.top("source.ip", limit=300)["values"]]
    many = " or ".join(f'source.ip:"{ip}"' for ip in ips)
    assert len(ips) > 50 and len(many) > 4_096
    assert client.count(many) == service.count(many) == {"count": built.total}


def test_errors_keep_their_words(api: tuple[LocalApi, ApiClient]) -> None:
    srv, client = api
    with pytest.raises(QueryError, match="unknown field 'nope' for by"):
        client.top("source.ip", by="nope")
    with pytest.raises(QueryError, match="duration before now"):
        client.count(since="5 parsecs")
    with pytest.raises(QueryError, match=f"at most {MAX_QUERY_CHARS}"):
        client.count("a" * (1 << 20))  # refused here: a megabyte never goes out as a URL
    headers = {"Authorization": f"Bearer {srv.token}"}
    r = httpx.get(f"{srv.url}/api/top", params={"field": "source.ip", "by": "x'); DROP TABLE events;--"},
                  headers=headers)
    assert r.status_code == 400 and r.json()["kind"] == "query" and "unknown field" in r.json()["error"]
    r = httpx.get(f"{srv.url}/api/count", params={"q": "(" * 10_000}, headers=headers)
    assert r.status_code == 400 and "deeper than" in r.json()["error"]
