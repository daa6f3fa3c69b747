"""The read side over HTTP: a client of the running collector's ``/api/*`` routes (DESIGN §2, §4).

DuckDB allows one read-write process, so while a collector runs it answers every read. Its URL and
pid are in ``<data_dir>/api.json``; the token is ``$WAFPIPE_API_TOKEN`` or the file
``<data_dir>/api.token`` (both files mode 0600). :class:`ApiClient` has the methods of
:class:`~wafpipe.store.service.ReadService` and returns the same JSON, so ``wafpipe query`` calls
one interface whether a collector runs or not; :func:`find_running` returns None when no collector
answers, and the caller opens the store read-only instead.
"""

from __future__ import annotations

import json
import os
import ssl
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from wafpipe.errors import QueryError, WafpipeError
from wafpipe.store.limits import DEFAULT_TIMEOUT_S, bounded_query
from wafpipe.store.query.tree import Node
from wafpipe.store.query.wire import to_json
from wafpipe.store.runner import ReadLimitError

API_FILE = "api.json"
TOKEN_FILE = "api.token"
TOKEN_ENV = "WAFPIPE_API_TOKEN"

Json = dict[str, Any]


class ApiAuthError(WafpipeError):
    """A collector runs but refuses (or cannot be given) the token: not a reason to open the store."""


def read_token(data_dir: Path) -> str | None:
    """The API token as the collector chose it: the environment first, then the token file."""
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        return env
    try:
        return (data_dir / TOKEN_FILE).read_text().strip() or None
    except OSError:
        return None


def _param(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value


class ApiClient:
    """The read service of a running collector, over its local API (same methods, same results)."""

    def __init__(self, url: str, token: str, *, timeout: float = DEFAULT_TIMEOUT_S + 30,
                 tls_cert_file: str | None = None) -> None:
        self.url = url
        self._client = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout, trust_env=False,
            verify=pinned(tls_cert_file) if tls_cert_file else True,
        )

    def _get(self, path: str, **params: Any) -> Any:
        return self._call("GET", path, **params)

    def _call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        if isinstance(params.get("q"), str):  # the service's bound, here too: a too-long query never leaves as a URL
            bounded_query(params["q"])
        query = {k: _param(v) for k, v in params.items() if v is not None}
        try:
            resp = self._client.request(method, path, params=query,
                                        content=orjson.dumps(body, default=str) if body is not None else None,
                                        headers={"Content-Type": "application/json"} if body is not None else None)
        except httpx.HTTPError as exc:
            raise WafpipeError(f"cannot reach the collector at {self.url}: {exc}") from None
        try:
            body = resp.json()
        except ValueError:
            body = {"error": resp.text[:200]}
        if resp.status_code == 200:
            return body
        error = str(body.get("error", resp.reason_phrase)) if isinstance(body, dict) else resp.reason_phrase
        kind = body.get("kind") if isinstance(body, dict) else None
        if resp.status_code in (400, 503) and kind in ("timeout", "memory", "busy"):
            raise ReadLimitError(error, kind=kind)
        if resp.status_code == 400:
            raise QueryError(error, column=int(body.get("column") or 0))
        if resp.status_code == 401:
            raise ApiAuthError(
                "the collector refused the API token",
                hint=f"use the token in <data_dir>/{TOKEN_FILE} or ${TOKEN_ENV}, as the collector does",
            )
        raise WafpipeError(f"the collector answered {resp.status_code}: {error}")

    def search(
        self,
        q: str = "",
        limit: int = 100,
        offset: int = 0,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        fields: list[str] | None = None,
        newest_first: bool = True,
        after: str | None = None,
    ) -> Json:
        return self._get(  # type: ignore[no-any-return]
            "/api/search", q=q, limit=limit, offset=offset, since=since, until=until,
            fields=fields or None, newest_first=newest_first, after=after,
        )

    def count(self, q: str = "", since: datetime | str | None = None, until: datetime | str | None = None) -> Json:
        return self._get("/api/count", q=q, since=since, until=until)  # type: ignore[no-any-return]

    def top(
        self,
        field: str,
        q: str = "",
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        limit: int = 10,
        by: str | None = None,
    ) -> Json:
        return self._get(  # type: ignore[no-any-return]
            "/api/top", field=field, q=q, since=since, until=until, limit=limit, by=by
        )

    def histogram(
        self,
        q: str = "",
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        interval: str | int | None = None,
        by: str | None = None,
    ) -> Json:
        return self._get(  # type: ignore[no-any-return]
            "/api/histogram", q=q, since=since, until=until, interval=interval, by=by
        )

    def event(self, id: str) -> Json | None:  # noqa: A002 - the DESIGN's name
        try:
            resp = self._client.get(f"/api/events/{quote(str(id), safe='')}")
        except httpx.HTTPError as exc:
            raise WafpipeError(f"cannot reach the collector at {self.url}: {exc}") from None
        if resp.status_code == 404:
            return None
        if resp.status_code == 200:
            return resp.json()  # type: ignore[no-any-return]
        body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
        raise QueryError(str(body.get("error", resp.reason_phrase)))

    def files(
        self, status: str | None = None, source: str | None = None, limit: int = 100, checksum: str | None = None
    ) -> Json:
        return self._get(  # type: ignore[no-any-return]
            "/api/files", status=status, source=source, limit=limit, checksum=checksum
        )

    def dead_letters(self, kind: str | None = None, limit: int = 100, include_replayed: bool = False) -> Json:
        return self._get(  # type: ignore[no-any-return]
            "/api/deadletters", kind=kind, limit=limit, include_replayed=include_replayed
        )

    def alerts(self, limit: int = 100, include_acknowledged: bool = False) -> Json:
        return self._get("/api/alerts", limit=limit, include_acknowledged=include_acknowledged)  # type: ignore[no-any-return]

    def correlate(self, q: str | Node, group_by: list[str], timespan_s: int, threshold: int, **kw: Any) -> Json:
        """:meth:`wafpipe.store.service.ReadService.correlate` in the collector; a tree is sent as JSON."""
        if kw.get("steps") is not None:
            kw["steps"] = [s if isinstance(s, str) else to_json(s) for s in kw["steps"]]
        body = {"q": to_json(q) if not isinstance(q, str) else q, "group_by": group_by, "timespan_s": timespan_s,
                "threshold": threshold, **{k: v for k, v in kw.items() if v is not None}}  # fmt: skip
        return self._call("POST", "/api/correlate", body=body)  # type: ignore[no-any-return]

    def replay_dead_letters(self, kind: str | None = None) -> Json:
        """Have the collector replay its live dead letters (of ``kind``): its report, as
        :meth:`wafpipe.collector.replay.ReplayReport.summary` gives it."""
        return self._call("POST", "/api/deadletters/replay", kind=kind)  # type: ignore[no-any-return]

    def health(self) -> Json:
        return self._get("/api/health")  # type: ignore[no-any-return]

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def pinned(cert_file: str) -> ssl.SSLContext:
    """TLS that trusts exactly the collector's own certificate (named in ``api.json``): local commands
    reach it by whatever address it listens on, which its certificate need not name, so the
    certificate itself, not the name, is what is checked."""
    context = ssl.create_default_context(cafile=cert_file)
    context.check_hostname = False
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # the certificate may be a CA-issued leaf
    return context


def find_running(data_dir: Path) -> ApiClient | None:
    """A client of the collector that owns ``data_dir``, or None when none answers."""
    try:
        info = json.loads((data_dir / API_FILE).read_text())
        os.kill(int(info["pid"]), 0)
        url = str(info["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    token = read_token(data_dir)
    if token is None:
        raise ApiAuthError(
            f"a collector (pid {info['pid']}) owns {data_dir}, but no API token was found",
            hint=f"set ${TOKEN_ENV} as the collector has it, or make <data_dir>/{TOKEN_FILE} readable",
        )
    client = ApiClient(url.replace("://0.0.0.0:", "://127.0.0.1:").replace("://[::]:", "://[::1]:"), token,
                       tls_cert_file=info.get("tls_cert_file"))
    try:
        client.health()
    except ApiAuthError:
        client.close()
        raise
    except WafpipeError:
        client.close()
        return None
    return client
