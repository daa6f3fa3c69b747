"""The two HEC endpoints the sink uses, behind one small client: ``/services/collector/event`` (a
body of concatenated event objects) and ``/services/collector/ack`` (indexer acknowledgement on a
channel). The token is sent in the ``Authorization`` header only and removed from any text this
client returns (:meth:`HecClient.redact`), so it never reaches a log line or an error.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson

EVENT_PATH = "/services/collector/event"
ACK_PATH = "/services/collector/ack"


class Transient(Exception):
    """No answer (connection refused, timeout, TLS failure): retried."""


class HecClient:
    def __init__(self, url: str, token: str, *, ack: bool, verify: bool | Path, timeout: float) -> None:
        self._token = token
        self.display = url.rstrip("/")
        # With acknowledgement, every request names the same channel: HEC keeps ack ids per channel.
        self.channel = str(uuid.uuid4()) if ack else None
        headers = {"Authorization": f"Splunk {token}", "Content-Type": "application/json"}
        if self.channel:
            headers["X-Splunk-Request-Channel"] = self.channel
        self._http = httpx.Client(base_url=self.display, headers=headers, timeout=timeout, trust_env=False,
                                  verify=str(verify) if isinstance(verify, Path) else verify)  # fmt: skip

    def redact(self, text: str) -> str:
        return text.replace(self._token, "<token>") if self._token else text

    def post(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """(status, the JSON answer or ``{"text": <body>}``); raises :class:`Transient` when there
        was no answer."""
        try:
            resp = self._http.post(path, content=body)
        except httpx.HTTPError as exc:
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
