"""The OpenSearchNode helper itself: clear errors, skip/fail rules, crash and restart on a taken port."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.servers import opensearch_fixture
from tests.servers import opensearch_node as node_module
from tests.servers.opensearch_node import OpenSearchNode, OpenSearchNodeError


def test_unbuilt_launcher_names_the_make_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node_module, "NODE_PROJECT", tmp_path / "nowhere")
    node = OpenSearchNode(tmp_path / "node")
    with pytest.raises(OpenSearchNodeError, match=r"make opensearch-node"):
        node.start()
    assert not node.running


@pytest.mark.parametrize("ci", ["", "true"])
def test_fixture_skips_locally_and_fails_under_ci(
    ci: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(node_module, "NODE_PROJECT", tmp_path / "nowhere")
    if ci:
        monkeypatch.setenv("CI", ci)
    else:
        monkeypatch.delenv("CI", raising=False)
    expected = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(expected, match=r"make opensearch-node"):
        opensearch_fixture.start_node(tmp_path / "node")


def test_crash_then_restart_on_a_taken_port_keeps_the_data(tmp_path: Path) -> None:
    """SIGKILL (no flush, no clean close), then start again while another socket holds the old port:
    the node comes back on a new port with every acknowledged document."""
    if not node_module.built():
        opensearch_fixture.start_node(tmp_path / "unbuilt")  # skips, or fails under CI, with the reason
    with OpenSearchNode(tmp_path / "node") as node:
        client = node.client()
        body: list[dict[str, object]] = []
        for i in range(200):
            body += [{"create": {"_index": "crash-test", "_id": f"doc-{i}"}}, {"n": i}]
        answer = client.bulk(body=body)
        assert not answer["errors"]
        old_port = node.port

        node.kill()
        assert not node.running
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            holder.bind(("127.0.0.1", old_port))
            holder.listen(1)
            node.start()
            assert node.port != old_port
            assert node.port_changed_on_restart
            client = node.client()
            client.indices.refresh(index="crash-test")
            assert client.count(index="crash-test")["count"] == 200

        # the port is free again, and a restart keeps the current one
        new_port = node.port
        node.restart()
        assert node.port == new_port
        assert not node.port_changed_on_restart
        assert node.client().count(index="crash-test")["count"] == 200
        assert node.last_start_s is not None  # measured, not asserted (DESIGN §8): see the node's README
