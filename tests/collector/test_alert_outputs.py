"""Alert outputs: every change of an alert reaches an NDJSON file and a webhook once; while the
webhook's receiver is down the changes wait in the state (run --once exits 3 and says so) and are
delivered, in order, none lost and none twice, when it is back."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.cli.helpers import wafpipe, write_config
from tests.collector.test_alerts import EXPECTED, first_file
from tests.filebuilder import make_file


class Receiver(ThreadingHTTPServer):
    """A webhook receiver on 127.0.0.1: answers 503 while ``down``, else 200 and keeps the request."""

    def __init__(self) -> None:
        self.down = False
        self.received: list[tuple[str, str, dict[str, Any]]] = []  # (idempotency key, authorization, body)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.down:
                    self.send_response(503)
                else:
                    receiver.received.append((self.headers["Idempotency-Key"], self.headers.get("Authorization", ""),
                                              json.loads(body)))  # fmt: skip
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def configure(root: Path, url: str) -> None:
    cfg = write_config(root, extra=f'[detect]\noutputs = [{{type = "file", path = "alerts.ndjson"}}, '
                                   f'{{type = "webhook", url = "{url}", token_env = "HOOK_TOKEN"}}]\n')  # fmt: skip
    cfg.write_text(cfg.read_text().replace("batch_timeout_s = 0.5", "batch_timeout_s = 0.5\ndrain_timeout_s = 1"))
    (root / "incoming" / "1_1.log").write_bytes(make_file(first_file()))


def opened(changes: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    return {(c["rule"]["title"], c["group"]["source.ip"]): c["count"] for c in changes if c["change"] == "opened"}


def test_a_receiver_that_is_down_gets_every_change_once_when_it_is_back(tmp_path: Path, receiver: Receiver) -> None:
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    configure(tmp_path, url)
    env = {"HOOK_TOKEN": "s3cret-hook-token"}
    receiver.down = True
    down = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, env=env)
    assert down.returncode == 3, down.stderr  # stored, alerts waiting for the webhook
    assert "503" in down.stderr and "s3cret-hook-token" not in down.stderr + down.stdout
    assert receiver.received == []
    lines = [json.loads(x) for x in (tmp_path / "alerts.ndjson").read_text().splitlines()]
    assert opened(lines) == EXPECTED  # the file output did not wait for the webhook
    receiver.down = False
    back = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, env=env)
    assert back.returncode == 0, back.stderr
    keys = [k for k, _, _ in receiver.received]
    assert len(keys) == len(set(keys)) == len(lines)  # every change, once
    assert opened([b for _, _, b in receiver.received]) == EXPECTED
    assert {auth for _, auth, _ in receiver.received} == {"Bearer s3cret-hook-token"}
    again = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, env=env)
    assert again.returncode == 0 and len(receiver.received) == len(keys)  # nothing twice
    assert len((tmp_path / "alerts.ndjson").read_text().splitlines()) == len(lines)
    assert (tmp_path / "alerts.ndjson").stat().st_mode & 0o077 == 0


class SyslogTcp(socketserver.ThreadingTCPServer):
    """Octet-counted RFC 5424 frames (RFC 6587) received on 127.0.0.1."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int) -> None:
        self.messages: list[bytes] = []
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while head := self._count():
                    server.messages.append(self.rfile.read(head))

            def _count(self) -> int:
                digits = b""
                while (c := self.rfile.read(1)) not in (b" ", b""):
                    digits += c
                return int(digits) if digits else 0

        super().__init__(("127.0.0.1", port), Handler)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_syslog_over_tcp_waits_for_its_server_and_over_udp_sends_each_change(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(30)
        cfg = write_config(tmp_path, extra=f'[detect]\noutputs = [{{type = "syslog", address = "tcp://127.0.0.1:{port}"}}, '
                                           f'{{type = "syslog", address = "udp://127.0.0.1:{udp.getsockname()[1]}", '
                                           'facility = "local3"}]\n')  # fmt: skip
        cfg.write_text(cfg.read_text().replace("batch_timeout_s = 0.5", "batch_timeout_s = 0.5\ndrain_timeout_s = 1"))
        (tmp_path / "incoming" / "1_1.log").write_bytes(make_file(first_file()))
        down = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
        assert down.returncode == 3, down.stderr  # nothing listens on the TCP port yet
        datagrams = [udp.recv(65536) for _ in EXPECTED]
    for message in datagrams:
        head, _, body = message.partition(b" - ")
        assert head.startswith(b"<1") and b" wafpipe " in head and b" alert-opened" in head  # local3: 19*8+sev
        assert json.loads(body)["change"] == "opened"
    tcp = SyslogTcp(port)
    thread = threading.Thread(target=tcp.serve_forever, daemon=True)
    thread.start()
    try:
        back = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
        assert back.returncode == 0, back.stderr
        assert opened([json.loads(m.partition(b" - ")[2]) for m in tcp.messages]) == EXPECTED
        assert all(m.startswith(b"<13") for m in tcp.messages)  # local0 (16*8) + warning (4) or err (3)
    finally:
        tcp.shutdown()
        tcp.server_close()


def test_without_outputs_the_outbox_does_not_grow(tmp_path: Path) -> None:
    from wafpipe.collector.alert_outputs import AlertOutputs
    from wafpipe.collector.state import State

    finding = {"rule": {"id": "r1", "title": "t", "level": "low"}, "kind": "rule", "group": {"source.ip": "192.0.2.1"},
               "first": "2026-06-01T12:00:00.000Z", "last": "2026-06-01T12:00:01.000Z", "count": 2,
               "event_ids": ["a", "b"]}  # fmt: skip
    with State(tmp_path) as state:
        state.record_alerts([finding])
        assert len(state.outbox(0)) == 1
        assert AlertOutputs([], state).pass_once()
        assert state.outbox(0) == [] and len(state.list_alerts()) == 1


def test_without_outputs_no_change_is_queued(tmp_path: Path) -> None:
    """Nothing would read them: the alerts are kept, their changes are not copied into the outbox."""
    from wafpipe.collector.alert_outputs import AlertOutputs
    from wafpipe.collector.state import State
    from wafpipe.config.root import FileOutput

    finding = {"rule": {"id": "r1", "title": "t", "level": "low"}, "kind": "rule", "group": {"source.ip": "192.0.2.1"},
               "first": "2026-06-01T12:00:00.000Z", "last": "2026-06-01T12:00:01.000Z", "count": 2,
               "event_ids": ["a", "b"]}  # fmt: skip
    with State(tmp_path) as state:
        AlertOutputs([], state)
        state.record_alerts([finding])
        state.register_file("k", source="incoming", name="x.log")
        state.commit_batch("k", 3, findings=[{**finding, "last": "2026-06-01T12:00:02.000Z", "count": 1}])
        assert state.outbox(0) == []
        [alert] = state.list_alerts()
        assert alert.count == 3 and alert.record["last"] == "2026-06-01T12:00:02.000Z"
    with State(tmp_path) as state:
        AlertOutputs([FileOutput(type="file", path=tmp_path / "alerts.ndjson")], state)
        state.record_alerts([{**finding, "first": "2026-06-01T12:00:03.000Z", "last": "2026-06-01T12:00:03.000Z"}])
        assert [m["change"] for _, m in state.outbox(0)] == ["updated"]
