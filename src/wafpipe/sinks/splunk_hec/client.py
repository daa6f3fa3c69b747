"""The two HEC endpoints the sink uses, behind one small client: ``/services/collector/event`` (a
body of concatenated event objects) and ``/services/collector/ack`` (indexer acknowledgement on a
channel). The token is sent in the ``Authorization`` header only and removed from any text this
client returns (:meth:`HecClient.redact`), so it never reaches a log line or an error.
"""

from __future__ import annotations

import ssl
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

EVENT_PATH = "/services/collector/event"
ACK_PATH = "/services/collector/ack"


class Transient(Exception):
    """No answer (connection refused, timeout, TLS failure): retried."""


def _certificate_error(exc: BaseException) -> str | None:
    """OpenSSL's reason when ``exc`` comes of a server certificate that failed verification."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return str(seen.verify_message or seen.reason)
        seen = seen.__cause__ or seen.__context__
    return None


class HecClient:
    def __init__(self, url: str, token: str, *, ack: bool, verify: bool | Path, timeout: float) -> None:
        self._token = token
        self.display = url.rstrip("/")
        # With acknowledgement, every request names the same channel: HEC keeps ack ids per channel.
        self.channel = str(uuid.uuid4()) if ack else None
        headers = {"Authorization": f"Splunk {token}", "Content-Type": "application/json"}
        if self.channel:
            headers["X-Splunk-Request-Channel"] = self.channel
        # a CA file as an SSL context: httpx deprecates a path, and a bad file fails here, at build time
        context = ssl.create_default_context(cafile=str(verify)) if isinstance(verify, Path) else verify
        self._trusted = f"the CA in {verify}" if isinstance(verify, Path) else "the system's CAs"
        self._http = httpx.Client(base_url=self.display, headers=headers, timeout=timeout, trust_env=False,
                                  verify=context)  # fmt: skip

    def redact(self, text: str) -> str:
        return text.replace(self._token, "<token>") if self._token else text

    def post(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """(status, the JSON answer or ``{"text": <body>}``); raises :class:`Transient` when there
        was no answer."""
        try:
            resp = self._http.post(path, content=body)
        except httpx.HTTPError as exc:
            refused = _certificate_error(exc)
            if refused is not None:  # not a network problem: retried, but said as what it is
                raise Transient(self.redact(f"cannot reach {self.display}: its TLS certificate is not trusted "
                                            f"({refused}); trusted: {self._trusted} (set ca_file)")) from None
            raise Transient(self.redact(f"cannot reach {self.display}: {type(exc).__name__}: {exc}")) from None
        try:
            answer = orjson.loads(resp.content) if resp.content else {}
        except orjson.JSONDecodeError:
            answer = {"text": resp.text[:200]}
        if not isinstance(answer, dict):
            answer = {"text": str(answer)[:200]}
        return resp.status_code, answer

    def acked(self, ack_id: int) -> bool:
        """Whether the indexers acknowledged ``ack_id`` (False on any failure: asked again)."""
        try:
            status, answer = self.post(ACK_PATH, orjson.dumps({"acks": [ack_id]}))
        except Transient:
            return False
        acks = answer.get("acks") if status == 200 else None
        return isinstance(acks, dict) and acks.get(str(ack_id)) is True

    def close(self) -> None:
        self._http.close()
