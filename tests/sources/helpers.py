"""What the remote-source tests share: the generated files' time span, how many events files hold,
and a source built in-process."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.collector.helpers import wafpipe
from tests.servers.moto_server import ACCESS_KEY, SECRET_KEY
from wafpipe.collector.state import State
from wafpipe.config.root import load_config
from wafpipe.decode.reader import read_path
from wafpipe.model import Context, Event
from wafpipe.sources import registry as source_registry

START, END = datetime(2024, 6, 10, 6, tzinfo=UTC), datetime(2024, 6, 10, 7, tzinfo=UTC)
AWS_ENV = {"WP_TEST_AWS_KEY_ID": ACCESS_KEY, "WP_TEST_AWS_SECRET": SECRET_KEY}
GUARD_S = 300.0  # a hang guard for collectors run as subprocesses


def events_in(paths: list[Path], keys: Path | None = None) -> int:
    """The events of ``paths`` as the decoder reads them (``keys``: the private keys of encrypted ones)."""
    return sum(1 for p in paths for e in read_path(p, keys_dir=keys).items() if isinstance(e, Event))


@contextmanager
def built_source(config: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, State]]:
    """The first source of ``config`` built in this process as the collector builds it (with its
    state), for tests that drive the source itself; closed afterwards."""
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    cfg = load_config(config)
    state = State(cfg.data_dir)
    source = source_registry.build_sources(cfg, Context(cfg.data_dir, state=state))[0]
    try:
        yield source, state
    finally:
        source.close()
        state.close()


def two_collectors_store_each_event_once(
    tmp_path: Path, node: Any, env: dict[str, str], write_config: Callable[[Path, str], Path], paths: list[Path]
) -> None:
    """Two ``wafpipe run --once`` at the same time, their configs made by ``write_config(root, sink)``
    with the real OpenSearch node as sink (set up by ``elastic setup``): both finish cleanly and
    every event of ``paths`` is in the node exactly once. The data stream is removed afterwards."""
    namespace = f"ns{uuid.uuid4().hex[:12]}"
    sink = (f'[[sinks]]\ntype = "opensearch"\nhosts = ["{node.url}"]\nnamespace = "{namespace}"\n'
            "use_data_stream = true\n")
    configs = [write_config(tmp_path / f"host{i}", sink) for i in range(2)]
    setup = wafpipe("elastic", "setup", "-c", str(configs[0]), cwd=tmp_path, env=env)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    procs = [subprocess.Popen([sys.executable, "-m", "wafpipe.cli", "run", "-c", str(cfg), "--once"],
                              cwd=cfg.parent, env={**os.environ, **env}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for cfg in configs]
    outs = [p.communicate(timeout=GUARD_S) for p in procs]
    for proc, (_, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err[-3000:]
    client = node.client()
    stream = f"logs-imperva.waf-{namespace}"
    try:
        client.indices.refresh(index=stream)
        hits = client.search(index=stream, body={"size": 10000, "_source": False, "query": {"match_all": {}}})
        stored = [h["_id"] for h in hits["hits"]["hits"]]
        expected = {e.id for p in paths for e in read_path(p).items() if isinstance(e, Event)}
        assert len(stored) == len(set(stored)) == len(expected) and set(stored) == expected
    finally:
        client.indices.delete_data_stream(name=stream, ignore=[404])
