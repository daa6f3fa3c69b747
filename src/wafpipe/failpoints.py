"""Named crash points for the exactly-once tests (DESIGN §8).

``WAFPIPE_FAILPOINT=<name>:<n>`` makes the process that reaches the n-th pass of ``name`` (counted
per process) exit at once with status 137, as a ``kill -9`` would: no cleanup, no flush, no
``finally`` (it writes one line, ``wafpipe: failpoint <name>:<n> hit in process <pid>``, to stderr
first). Tests then kill the rest of the process group and check that a restart loses and
duplicates nothing. Without the variable a failpoint costs one dictionary lookup.

Names, in the order of one Batch's acknowledgement: ``decode.after_batch`` (worker),
``spool.after_append`` (records written to a spooling sink's segment, not yet fsync'd),
``spool.after_fsync``, ``sink.<type>.after_write`` (DuckDB: inside the transaction, before COMMIT;
a cluster, syslog or Splunk HEC sink: durable in
its spool; the archive: its objects written, the manifest not yet),
``sink.duckdb.after_commit`` (store committed),
``state.after_checkpoint``, ``source.after_ack``; in a cluster sink's sender thread (in the main
process): ``sender.after_send`` (every record of a spool chunk answered by ``_bulk``, the chunk not
yet acknowledged) and ``sender.after_cursor`` (an acknowledgement moved the spool's cursor and the
cursor file is written).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import Counter

NAMES = (
    "decode.after_batch",
    "spool.after_append",
    "spool.after_fsync",
    "sink.duckdb.after_write",
    "sink.duckdb.after_commit",
    "sink.elasticsearch.after_write",
    "sink.opensearch.after_write",
    "sink.archive.after_write",
    "sink.syslog.after_write",
    "sink.splunk_hec.after_write",
    "state.after_checkpoint",
    "source.after_ack",
    "sender.after_send",
    "sender.after_cursor",
)

_passes: Counter[str] = Counter()
_lock = threading.Lock()


def _armed() -> tuple[str, int] | None:
    spec = os.environ.get("WAFPIPE_FAILPOINT")
    if not spec:
        return None
    name, _, count = spec.rpartition(":")
    if not name or not count.isdigit() or name not in NAMES:
        raise ValueError(f"WAFPIPE_FAILPOINT={spec!r}: expected <name>:<n> with a name among {', '.join(NAMES)}")
    return name, int(count)


def failpoint(name: str) -> None:
    """Exit the process with status 137 on the armed pass of ``name``; otherwise do nothing."""
    armed = _armed()
    if armed is None or armed[0] != name:
        return
    with _lock:
        _passes[name] += 1
        hit = _passes[name] == armed[1]
    if hit:
        # One line on stderr first, so a test (or a person) knows which process stopped where:
        # a worker's or a sender thread's exit is not the exit status of ``wafpipe run``.
        with contextlib.suppress(OSError):
            os.write(2, f"wafpipe: failpoint {name}:{armed[1]} hit in process {os.getpid()}\n".encode())
        os._exit(137)
