"""What the remote-source tests share: the generated files' time span, how many events files hold,
and a source built in-process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.servers.moto_server import ACCESS_KEY, SECRET_KEY
from wafpipe.collector.state import State
from wafpipe.config.root import load_config
from wafpipe.decode.reader import read_path
from wafpipe.model import Context, Event
from wafpipe.sources import registry as source_registry

START, END = datetime(2024, 6, 10, 6, tzinfo=UTC), datetime(2024, 6, 10, 7, tzinfo=UTC)
AWS_ENV = {"WP_TEST_AWS_KEY_ID": ACCESS_KEY, "WP_TEST_AWS_SECRET": SECRET_KEY}


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
