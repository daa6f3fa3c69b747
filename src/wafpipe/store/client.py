"""The read side over HTTP: a client of the running collector's local API (DESIGN §2 "one writer").

DuckDB allows one read-write process, so while a collector runs it answers every read; its address
and token are in ``<data_dir>/API_FILE`` (mode 0600). :func:`find_running` returns None when no
collector answers, and the caller opens the store read-only instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx

from wafpipe.errors import QueryError, WafpipeError

API_FILE = "api.json"


class ApiClient:
    """Talks to a running collector; :func:`find_running` returns None when none answers."""

    def __init__(self, url: str, token: str) -> None:
        self._client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def get_json(self, path: str, **params: Any) -> Any:
        resp = self._client.get(path, params=params)
        body = resp.json()
        if resp.status_code == 400:
            if "column" in body:
                raise QueryError(body["error"], column=body.get("column") or 0)
            raise WafpipeError(body["error"])
        resp.raise_for_status()
        return body

    def query(self, expr: str, limit: int, count: bool) -> dict[str, Any]:
        return self.get_json("/query", q=expr, limit=limit, count=int(count))

    def close(self) -> None:
        self._client.close()


def find_running(data_dir: Path) -> ApiClient | None:
    path = data_dir / API_FILE
    try:
        info = json.loads(path.read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    client = ApiClient(info["url"], info["token"])
    try:
        client.get_json("/health")
    except (httpx.HTTPError, WafpipeError, ValueError):
        client.close()
        return None
    return client
