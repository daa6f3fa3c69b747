"""What the remote-source tests share: the generated files' time span and how many events files hold."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.servers.moto_server import ACCESS_KEY, SECRET_KEY
from wafpipe.decode.reader import read_path
from wafpipe.model import Event

START, END = datetime(2024, 6, 10, 6, tzinfo=UTC), datetime(2024, 6, 10, 7, tzinfo=UTC)
AWS_ENV = {"WP_TEST_AWS_KEY_ID": ACCESS_KEY, "WP_TEST_AWS_SECRET": SECRET_KEY}


def events_in(paths: list[Path], keys: Path | None = None) -> int:
    """The events of ``paths`` as the decoder reads them (``keys``: the private keys of encrypted ones)."""
    return sum(1 for p in paths for e in read_path(p, keys_dir=keys).items() if isinstance(e, Event))
