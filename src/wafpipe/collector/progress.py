"""The progress bar of ``run --once`` on a terminal: the backlog's files done out of those found.

rich draws it on stderr; while it is shown, wafpipe's log lines go through rich's proxy so that
they print above it (:func:`~wafpipe.collector.logs.log_through`), and back to stderr after.
"""

from __future__ import annotations

import sys
from typing import Any

from wafpipe.collector.logs import log_through


class BacklogProgress:
    """The bar when ``show`` (and there are files); otherwise every method does nothing."""

    def __init__(self, total: int, *, show: bool) -> None:
        self._bar: Any = None
        if show and total:
            from rich.progress import Progress

            self._bar = Progress(transient=True)
            self._bar.start()
            self._job = self._bar.add_task("ingesting backlog", total=total)
            self._streams = log_through(sys.stderr)  # rich's proxy, now that it is started

    def update(self, *, done: int | None = None, total: int | None = None) -> None:
        """Files done so far and files found so far (None: unchanged)."""
        if self._bar is not None:
            self._bar.update(self._job, completed=done, total=total)

    def close(self) -> None:
        """Remove the bar; log lines go to stderr again."""
        if self._bar is not None:
            self._bar.stop()
            for handler, stream in self._streams:
                handler.setStream(stream)
            self._bar = None
