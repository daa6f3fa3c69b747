"""Work that other threads hand to the collector's own loop.

The sinks and the state's writes belong to the collector's main loop (the embedded store has one
writer, a cluster sink one spool). What the API is asked to change (replaying dead letters) is
queued here and run by the loop between two Batches (:meth:`Jobs.run_pending`, called from each
step), so it never runs beside a Batch's write; the API thread waits for the result.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from wafpipe.collector.replay import replay_into
from wafpipe.collector.state.store import State
from wafpipe.config.root import Config
from wafpipe.errors import WafpipeError
from wafpipe.sinks import Sink

REPLAY_WAIT_S = 120.0  # how long the API waits for a replay before answering "still running"
REPLAY_FLUSH_S = 10.0  # how long a replay in a running collector waits for cluster sinks to answer


class Jobs:
    """A queue of functions for the collector's loop, each with the future its caller waits on."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        """Queue ``fn`` (from any thread); the future holds its result or exception."""
        future: Future[Any] = Future()
        self._queue.put((fn, future))
        return future

    def run_pending(self) -> None:
        """Run what is queued, in the caller's thread (the collector's loop)."""
        while True:
            try:
                fn, future = self._queue.get_nowait()
            except queue.Empty:
                return
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - the waiting caller gets it
                future.set_exception(exc)

    def cancel_all(self) -> None:
        """The collector stops: whoever still waits is told so."""
        while True:
            try:
                _, future = self._queue.get_nowait()
            except queue.Empty:
                return
            if future.set_running_or_notify_cancel():
                future.set_exception(WafpipeError("the collector is stopping; nothing was replayed"))


def replay_through(jobs: Jobs, state: State, sinks: list[Sink], config: Config) -> Callable[[str | None], dict[str, Any]]:
    """The API's dead-letter replay: run in the collector's loop with its own sinks, and its report."""

    def replay(kind: str | None = None) -> dict[str, Any]:
        future = jobs.submit(lambda: replay_into(state, sinks, config, kind, flush_s=REPLAY_FLUSH_S).summary())
        try:
            return future.result(timeout=REPLAY_WAIT_S)
        except FutureTimeout:
            raise WafpipeError(
                "the replay is still running in the collector; its outcome shows on the Health page"
            ) from None

    return replay
