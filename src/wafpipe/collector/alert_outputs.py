"""Where alerts go besides the state: an NDJSON file, a webhook, syslog (RFC 5424, TCP or UDP), and
each cluster sink's ``wafpipe-alerts`` index.
Nothing is lost when a receiver is down, and nothing is sent twice while it is up.

Every change of an alert (opened, updated) is queued in the state's ``alert_outbox`` in the
transaction that made it (:mod:`wafpipe.collector.state.alerts`): that table is the spool, as
durable as the alerts. Each output keeps its own cursor in the state (the last change it
delivered) and moves it only after the change is delivered — a file line fsync'd, a webhook
answered 2xx — so a receiver that is down gets everything once it is back, in order, retried with
a growing wait (1 s doubling to 60 s). A crash between a delivery and its cursor can send that one
change again; each webhook request carries ``Idempotency-Key: <alert id>-<change seq>`` so the
receiver can tell. Changes every output delivered are trimmed from the outbox. Without outputs no
change is queued at all (:attr:`State.queue_changes <wafpipe.collector.state.alerts.Alerts.queue_changes>`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson

from wafpipe.collector.state.store import State
from wafpipe.config.files import create_private
from wafpipe.config.root import FileOutput, SyslogOutput, WebhookOutput
from wafpipe.errors import redact
from wafpipe.sinks.syslog import framing

log = logging.getLogger("wafpipe.collector.alerts")

BATCH = 100  # changes read from the outbox at a time
MAX_WAIT_S = 60.0


class _Output:
    """One configured output: ``deliver`` returns how many of the changes it delivered, in order."""

    name: str

    def deliver(self, changes: list[tuple[int, dict[str, Any]]]) -> int:
        raise NotImplementedError


class _File(_Output):
    def __init__(self, config: FileOutput, index: int) -> None:
        self.name, self.path = f"alerts:file:{index}", Path(config.path)

    def deliver(self, changes: list[tuple[int, dict[str, Any]]]) -> int:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(create_private(self.path, exclusive=False))
        with self.path.open("ab") as fh:
            fh.write(b"".join(orjson.dumps(change) + b"\n" for _, change in changes))
            fh.flush()
            os.fsync(fh.fileno())
        return len(changes)


class _Webhook(_Output):
    def __init__(self, config: WebhookOutput, index: int) -> None:
        self.name, self.url = f"alerts:webhook:{index}", config.url
        token = config.secret("token", required=False)
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        self._client = httpx.Client(headers=headers, timeout=config.timeout_s, trust_env=False)

    def deliver(self, changes: list[tuple[int, dict[str, Any]]]) -> int:
        done = 0
        for seq, change in changes:
            try:
                resp = self._client.post(self.url, content=orjson.dumps(change),
                                         headers={"Idempotency-Key": f"{change['alert_id']}-{seq}"})  # fmt: skip
            except httpx.HTTPError as exc:
                log.warning("alert webhook %s: %s; retrying", redact(self.url), redact(str(exc)))
                break
            if not 200 <= resp.status_code < 300:
                log.warning("alert webhook %s answered %d; retrying", redact(self.url), resp.status_code)
                break
            done += 1
        return done


ALERTS_INDEX = "wafpipe-alerts"


class _Index(_Output):
    """A cluster sink's ``wafpipe-alerts`` index: one document per alert, its id the alert's,
    replaced by each change (so a change sent twice leaves the same document)."""

    def __init__(self, client: Any, sink_name: str) -> None:
        self.name, self.client, self.sink_name = f"alerts:index:{sink_name}", client, sink_name

    def deliver(self, changes: list[tuple[int, dict[str, Any]]]) -> int:
        done = 0
        for _, change in changes:
            doc = {k: v for k, v in change.items() if k != "at"} | {"@timestamp": change.get("last"),
                                                                      "updated_at": change.get("at")}  # fmt: skip
            try:
                status, body = self.client.request("PUT", f"/{ALERTS_INDEX}/_doc/{int(change['alert_id'])}", doc)
            except Exception as exc:  # noqa: BLE001 - a client failure is a retry, whatever its type
                log.warning("alerts index of %s: %s; retrying", self.sink_name, self.client.redact(str(exc)))
                break
            if status not in (200, 201):
                log.warning("alerts index of %s answered %s; retrying", self.sink_name, status)
                break
            done += 1
        return done


class AlertOutputs:
    """Every configured output, fed from the outbox: :meth:`pass_once` (one try each), or a thread
    (:meth:`start`) that keeps trying."""

    def __init__(self, outputs: list[Any], state: State, clusters: Sequence[Any] = ()) -> None:
        """``clusters``: the cluster sinks whose ``wafpipe-alerts`` index gets the alerts too."""
        self.state = state
        kinds: dict[type, Callable[[Any, int], _Output]] = {WebhookOutput: _Webhook, FileOutput: _File,
                                                            SyslogOutput: _Syslog}  # fmt: skip
        self.outputs = [kinds[type(o)](o, i) for i, o in enumerate(outputs)]
        self.outputs += [_Index(sink.client, sink.name) for sink in clusters]
        state.queue_changes = bool(self.outputs)  # no outputs: nobody reads the outbox
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def pass_once(self) -> bool:
        """Deliver what waits, output by output; True when nothing is left for any of them. Without
        outputs the outbox is simply emptied (it must not grow for ever)."""
        if not self.outputs:
            if self.state.outbox(0, 1):  # a read first: no write at every pass of an idle collector
                self.state.trim_outbox(2**62)
            return True
        left = False
        cursors = []
        for output in self.outputs:
            cursor = int(self.state.sink_cursor_get(output.name) or 0)
            while True:
                changes = self.state.outbox(cursor, BATCH)
                if not changes:
                    break
                done = output.deliver(changes)
                if done:
                    cursor = changes[done - 1][0]
                    self.state.sink_cursor_set(output.name, cursor)
                if done < len(changes):
                    left = True
                    break
            cursors.append(cursor)
        self.state.trim_outbox(min(cursors))
        return not left

    def drain(self, timeout_s: float) -> bool:
        """Keep trying for up to ``timeout_s`` (the end of ``run --once``); True when all was sent."""
        deadline = time.monotonic() + timeout_s
        wait = 0.5
        while not self.pass_once():
            if time.monotonic() + wait > deadline:
                return False
            time.sleep(wait)
            wait = min(wait * 2, MAX_WAIT_S)
        return True

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="alert-outputs", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        wait = 1.0
        while not self._stop.wait(wait):
            wait = 1.0 if self.pass_once() else min(wait * 2, MAX_WAIT_S)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


# An alert's rule level as a syslog severity: crit, err, warning, notice, info.
_SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "notice",
             "informational": "informational"}  # fmt: skip


def syslog_message(change: dict[str, Any], facility: str, host: str) -> bytes:
    """One change as RFC 5424 (framed by :mod:`wafpipe.sinks.syslog.framing`, as the syslog sink's
    events are): severity from the rule's level, ``MSGID`` the change, the change's JSON as the
    message (every SIEM's syslog input takes it; control characters escaped by JSON)."""
    level = str(change.get("rule", {}).get("level", "medium"))
    return framing.rfc5424(
        framing.pri(facility, _SEVERITY.get(level, "warning")), float(change.get("at") or time.time()), host,
        "wafpipe", str(os.getpid()), f"alert-{change.get('change', 'opened')}", framing.NILVALUE, orjson.dumps(change),
    )  # fmt: skip


class _Syslog(_Output):
    """TCP (octet-counted frames, RFC 6587: a message may hold anything) or UDP (one datagram each,
    sent is delivered: UDP says no more)."""

    def __init__(self, config: Any, index: int) -> None:
        self.name, self.config = f"alerts:syslog:{index}", config
        scheme, rest = config.address.split("://", 1)
        host, port = rest.rsplit(":", 1)
        self.tcp, self.address = scheme == "tcp", (host, int(port))
        self.host = socket.gethostname() or "-"
        self._sock: socket.socket | None = None

    def deliver(self, changes: list[tuple[int, dict[str, Any]]]) -> int:
        done = 0
        try:
            sock = self._connect()
            for _, change in changes:
                message = syslog_message(change, self.config.facility, self.host)
                if self.tcp:
                    sock.sendall(framing.octet_counted(message))
                else:
                    sock.sendto(message, self.address)
                done += 1
        except OSError as exc:
            log.warning("alert syslog %s: %s; retrying", self.config.address, exc)
            self._close()
        return done

    def _connect(self) -> socket.socket:
        if self._sock is None:
            if self.tcp:
                self._sock = socket.create_connection(self.address, timeout=self.config.timeout_s)
            else:
                family = socket.getaddrinfo(self.address[0], self.address[1], type=socket.SOCK_DGRAM)[0][0]
                self._sock = socket.socket(family, socket.SOCK_DGRAM)
        return self._sock

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
