"""The state's checkpoints of delivered Batches, a few Batches per commit (group commit).

Every sink makes a Batch durable before the state records it (DESIGN §2). The state's record of a
Batch — the file's resume point and counters, the Batch's dead letters, the alerts its findings
join — can therefore lag the sinks by a few Batches without losing or doubling anything: after a
crash the collector reads those Batches again from the older resume point, the sinks recognise them
(the store's ledger, the spooling sinks' marks, the archive's manifest) and add nothing, and their
dead letters and findings are recorded once, by the commit that did not happen before the crash.

Why group them: the state's commit was the main process's largest cost after the store's own
(issue 20: ~2.1 s of a 1 M-event backlog of generated attacks, one fsync'd SQLite transaction per
Batch, each joining its ~560 findings to the alerts of their rule and group). Ten Batches in one
commit merge the findings of one alert once instead of ten times: 2.0 → 0.95 s measured by
replaying that backlog's 110 checkpoints.

When they are committed (whichever comes first):

* :data:`GROUP_BATCHES` Batches are waiting, or the oldest has waited :data:`GROUP_LAG_S`;
* a file's last Batch: the file is marked done (and its source may delete it) only once every one
  of its Batches is recorded;
* a Batch with dead letters (each can hold a long line: they are not kept waiting in memory);
* the collector stops reading Batches for now (none is ready, or one is held by back-pressure), a
  worker died (its file resumes from the state's ordinal), or the collector stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from wafpipe.collector.state.store import Checkpoint, State
from wafpipe.failpoints import failpoint

GROUP_BATCHES = 10  # Batches per commit at most: also the most a crash makes the collector read again
GROUP_LAG_S = 1.0  # the longest a delivered Batch waits for its checkpoint while Batches keep coming


class Checkpoints:
    """Checkpoints waiting for their commit; :meth:`add` one per delivered Batch."""

    def __init__(self, state: State, *, batches: int = GROUP_BATCHES, lag_s: float = GROUP_LAG_S,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.state, self.batches, self.lag_s, self.clock = state, batches, lag_s, clock
        self._waiting: list[Checkpoint] = []
        self._since = 0.0

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, checkpoint: Checkpoint, *, now: bool = False) -> None:
        """Record a Batch every sink has taken: at once when ``now`` (a file's last Batch), when it
        has dead letters, or when the group is full or has waited long enough; else later."""
        if not self._waiting:
            self._since = self.clock()
        self._waiting.append(checkpoint)
        if (now or checkpoint.dead_letters or len(self._waiting) >= self.batches
                or self.clock() - self._since >= self.lag_s):  # fmt: skip
            self.commit()

    def commit(self) -> None:
        """Commit every waiting checkpoint (one transaction); nothing to do when none waits."""
        if not self._waiting:
            return
        self.state.commit_batches(self._waiting)
        self._waiting = []
        failpoint("state.after_checkpoint")
