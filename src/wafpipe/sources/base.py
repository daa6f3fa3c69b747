"""What every source implements (DESIGN §1).

A source lists and fetches files and knows nothing of formats. It hands out
:class:`~wafpipe.model.FileRef` s (a local path: a remote source fetches into its spool first); a
decode worker reads the path, the pipeline stores the events, records the checkpoint, and only then
calls :meth:`Source.ack` (which may delete or move the file, so it must come last).

Problems that concern one file (unreadable, vanished) never stop a source: they are reported as a
:class:`~wafpipe.model.Problem` (``file`` is the path, ``reason`` the whole message), counted,
logged once, and the file is retried on later polls.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator

from wafpipe.model import FileRef, Problem

log = logging.getLogger("wafpipe.sources")


def file_key(source: str, path: str, size: int, mtime_ns: int) -> str:
    """Stable identity of one delivered file for the state registry: source name + path + a
    size/mtime signature. The same name with other content gets another key; the same content under
    another key is caught later by the Imperva header identity (State.identity_done)."""
    return f"{source}:{path}:{size}:{mtime_ns}"


class Source(ABC):
    """Base class. ``scan`` for catch-up and ``--once``, ``watch`` for the collector, ``close`` once."""

    # ``--once``: the last snapshot stopped early (a remote source's full spool); the collector asks
    # for another once it has stored what it got
    has_more: bool = False

    def __init__(self, name: str, on_problem: Callable[[Problem], None] | None = None) -> None:
        self.name = name
        self.counters: Counter[str] = Counter()
        self.problems: dict[str, Problem] = {}  # outstanding, by path
        self.repeats: Counter[str] = Counter()  # how often each outstanding problem was seen again
        self._on_problem = on_problem
        self._problem_lock = threading.Lock()

    @abstractmethod
    def scan(self) -> list[FileRef]:
        """Every file that is complete now (catch-up, ``wafpipe run --once``)."""

    @abstractmethod
    def watch(self, stop: threading.Event) -> Iterator[FileRef]:
        """Files as they become complete, until ``stop`` is set; starts with a catch-up."""

    def ack(self, ref: FileRef) -> None:  # noqa: B027 - optional hook
        """Every sink holds ``ref``'s events and the state says it is done: apply the source's
        after-policy (delete, move, remote acknowledgement)."""

    def snapshot_complete(self) -> list[FileRef]:
        """``--once``: every file present at start that is complete. Defaults to :meth:`scan`."""
        return self.scan()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; safe to call twice."""

    # Problem bookkeeping shared by all sources -------------------------------------------------
    def report(self, kind: str, path: str, message: str) -> None:
        """Record a problem: counted and logged the first time, then only refreshed, so a file that
        stays unreadable does not flood the log at every poll."""
        with self._problem_lock:
            known = self.problems.get(path)
            if known is not None and known.kind == kind and known.reason == message:
                self.repeats[path] += 1
                return
            problem = Problem(kind, path, message)
            self.problems[path] = problem
            self.repeats[path] = 1
            self.counters[f"problem_{kind}"] += 1
        log.warning("source %s: %s", self.name, message)
        if self._on_problem is not None:
            self._on_problem(problem)

    def resolve(self, path: str) -> None:
        """The problem with ``path`` went away (the file became readable, or vanished)."""
        with self._problem_lock:
            gone = self.problems.pop(path, None)
            self.repeats.pop(path, None)
        if gone is not None and gone.kind == "permission":
            log.info("source %s: %s is readable now", self.name, path)
