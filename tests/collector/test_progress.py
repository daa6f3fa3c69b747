"""``run --once``'s progress bar (wafpipe.collector.progress): log lines print through rich's proxy
while it is shown, and go back to their stream when it is closed; hidden, it touches nothing."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator

import pytest
import rich
from rich.console import Console

from wafpipe.collector.progress import BacklogProgress


@pytest.fixture
def handler() -> Iterator[logging.StreamHandler[object]]:
    logger = logging.getLogger("wafpipe")
    h: logging.StreamHandler[object] = logging.StreamHandler(sys.stderr)
    logger.addHandler(h)
    yield h
    logger.removeHandler(h)


def test_log_lines_go_through_the_bar_while_it_is_shown(handler: logging.StreamHandler[object],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = io.StringIO()
    monkeypatch.setattr(rich, "_console", Console(file=terminal, force_terminal=True))  # as on a terminal
    before = handler.stream
    bar = BacklogProgress(3, show=True)
    try:
        assert handler.stream is sys.stderr and sys.stderr is not before  # rich's proxy: above the bar
        logging.getLogger("wafpipe.test").warning("a line while the bar is shown")
        bar.update(done=1)
        bar.update(total=5)
    finally:
        bar.close()
    assert handler.stream is before and sys.stderr is before
    assert "a line while the bar is shown" in terminal.getvalue()
    bar.close()  # closing twice does nothing
    assert handler.stream is before


@pytest.mark.parametrize(("total", "show"), [(3, False), (0, True)])
def test_a_hidden_bar_touches_nothing(handler: logging.StreamHandler[object], total: int, show: bool) -> None:
    before = handler.stream
    bar = BacklogProgress(total, show=show)
    bar.update(done=1, total=4)
    assert handler.stream is before
    bar.close()
    assert handler.stream is before
