"""The HTTP side of Imperva's log download API: ``<base>logs.index`` and ``<base><apiId>_<seq>.log``
with HTTP Basic authentication (the log integration's API ID and API key).

Why it works the way it does:

* **The URL as the user pasted it.** The console shows the "Log Server URI" with or without a
  trailing slash, and people paste it with ``logs.index`` at the end: :func:`base_url` accepts all
  three and always joins with exactly one slash (peers that joined without it got 401s).
* **Errors say what to do.** 401/403 name the two settings that hold the credentials and where
  Imperva shows them; a 404 on the index names the two causes (a wrong URL, or an integration not
  active yet: the first index appears hours after activation); 429 and 5xx are transient and carry
  the server's ``Retry-After`` when it sends one. A 404 on a file is its own case: the file is not
  there (yet, or any more), which the source decides about with the next index.
* **Streaming.** A file is written to the caller's file object as it arrives, never held whole.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import BinaryIO

import httpx

from wafpipe.errors import redact
from wafpipe.sources.remote.base import RemoteError

INDEX = "logs.index"
NAME = re.compile(r"^\d+_\d+\.log$")
USER_AGENT = "wafpipe (Imperva log API pull)"


class ApiError(RemoteError):
    """A failed request of the log API (``kind`` as :class:`~wafpipe.sources.remote.base.RemoteError`;
    a missing ``logs.index`` is ``config``: fix the URL or wait for the integration)."""


def base_url(url: str) -> str:
    """``https://logs1.incapsula.com/123_456`` (with or without ``/`` or ``/logs.index``) → with
    exactly one trailing slash, the prefix every file name is appended to."""
    url = url.strip()
    if url.endswith("/" + INDEX):
        url = url[: -len(INDEX)]
    return url.rstrip("/") + "/"


def seq_of(name: str) -> int:
    return int(name.split("_", 1)[1].split(".", 1)[0])


class LogApi:
    """One log integration's download endpoint."""

    def __init__(
        self,
        url: str,
        api_id: str,
        api_key: str,
        *,
        timeout_s: float = 60.0,
        verify_certs: bool = True,
        ca_file: Path | None = None,
        proxy_url: str | None = None,
        settings: tuple[str, str] = ("api_id_env", "api_key_env"),
    ) -> None:
        self.base = base_url(url)
        self._secrets = [api_id, api_key]
        self._settings = settings
        verify: bool | ssl.SSLContext = verify_certs
        if ca_file is not None and verify_certs:
            verify = ssl.create_default_context(cafile=str(ca_file))
        self._http = httpx.Client(
            auth=httpx.BasicAuth(api_id, api_key), timeout=timeout_s, verify=verify, proxy=proxy_url,
            headers={"User-Agent": USER_AGENT}, follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def shown(self, text: str) -> str:
        return redact(text, self._secrets)

    def _fail(self, status: int, what: str, headers: httpx.Headers) -> ApiError:
        where = f"{what} ({self.shown(self.base)})"
        if status in (401, 403):
            ids, keys = self._settings
            return ApiError("auth", f"{where}: HTTP {status}: Imperva refused the API ID and key; set the "
                            f"environment variables named by {ids} and {keys} to the log integration's API ID "
                            "and API key (Imperva console: Logs → Log Setup)")
        if status == 404 and what == INDEX:
            return ApiError("config", f"{where}: HTTP 404: there is no logs.index at this URL. Either the "
                            "URL is not the \"Log Server URI\" of Logs → Log Setup, or the log integration is "
                            "not active yet (its first index appears a few hours after activation)")
        if status == 404:
            return ApiError("missing", f"{where}: HTTP 404: the file is not there")
        retry = headers.get("Retry-After")
        retry_s = float(retry) if retry and retry.strip().isdigit() else None
        return ApiError("transient", f"{where}: HTTP {status}" + (f" (retry after {retry_s:.0f} s)" if retry_s else ""),
                        retry_s)

    def index(self) -> tuple[list[str], list[str]]:
        """(the file names of ``logs.index`` in sequence order, the lines that are not file names)."""
        try:
            r = self._http.get(self.base + INDEX)
        except httpx.HTTPError as exc:
            raise ApiError("transient", self.shown(f"{INDEX} ({self.base}): {type(exc).__name__}: {exc}")) from None
        if r.status_code != 200:
            raise self._fail(r.status_code, INDEX, r.headers)
        names, other = [], []
        for line in r.text.split("\n"):
            line = line.strip("\r").strip()
            if not line:
                continue
            (names if NAME.match(line) else other).append(line)
        return sorted(set(names), key=seq_of), other

    def download(self, name: str, out: BinaryIO) -> int:
        """Stream ``<base><name>`` into ``out``; returns the bytes written."""
        if not NAME.match(name):
            raise ValueError(f"not an Imperva log file name: {name!r}")
        written = 0
        try:
            with self._http.stream("GET", self.base + name) as r:
                if r.status_code != 200:
                    raise self._fail(r.status_code, name, r.headers)
                for chunk in r.iter_bytes(1 << 16):
                    out.write(chunk)
                    written += len(chunk)
        except httpx.HTTPError as exc:
            raise ApiError("transient", self.shown(f"{name} ({self.base}): {type(exc).__name__}: {exc}")) from None
        return written
