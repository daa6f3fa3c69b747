"""glibc's allocator settings for our processes: the collector keeps its peak memory low, a
one-shot command its page faults few.

The collector keeps its freed buffers from staying resident (issue 20: peak memory), with two
glibc settings, one for each kind of buffer:

glibc serves an allocation of 128 KiB or more with a mapping of its own, returned to the kernel
when freed, but each time such a block is freed it raises that threshold to the block's size (up
to 32 MiB): from then on buffers of that size come from the heap, which gives memory back only
from its top. A collector allocates and frees buffers of megabytes for every Batch (Arrow
columns, IPC messages), so after a few Batches each process kept tens of MiB it had freed.
Pinning the threshold stops that.

The buffers below the threshold still come from the heap: a Batch's many smaller columns, and the
core's builders for the next one. The heap keeps what was freed in its middle, and its peak was the
live Batch plus the holes the previous ones left. A decode worker therefore calls :func:`trim`
after each Batch it sent: its peak on a 1 GB file fell from 182 to 164 MiB (the heap from 68 to
49), for about a millisecond per Batch (0.5 % of decoding it). The main process's peak did not
move (its memory is DuckDB's own, and the Batch in hand), so it does not trim.

``wafpipe parse`` makes the opposite trade (:func:`keep_freed_buffers`): it streams Batch after
Batch to its output and exits, and reusing one Batch's freed buffers for the next is worth more to
it than giving them back.
"""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable

_M_TRIM_THRESHOLD = -1  # mallopt's parameter numbers (malloc.h)
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value, kept


@functools.cache
def _glibc(name: str) -> Callable[..., int] | None:
    """glibc's allocator function ``name`` (``mallopt``, ``malloc_trim``), whose arguments are C
    ``int``s (ctypes' default for a Python int); None where there is none (musl, other systems)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(None), name)  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


def pin_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold for this process; False where there is no glibc ``mallopt``."""
    mallopt = _glibc("mallopt")
    return mallopt is not None and bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


# Above any Batch's buffers: a CEF Batch of 10 000 events renders ~36 MiB of NDJSON lines.
REUSE_UP_TO = 512 * 1024 * 1024


def keep_freed_buffers() -> bool:
    """Serve every buffer up to :data:`REUSE_UP_TO` from the heap and keep what is freed there, for
    a process that streams Batches to its output (``wafpipe parse``); False without glibc.

    glibc maps a buffer of more than 32 MiB anew each time (its threshold rises no higher), and the
    kernel zeroes every page of it on first touch: ``parse`` of 200 000 CEF events took 114 000
    page faults, 0.3 s of system time in 3.3 s. With the freed buffers reused: 50 000 faults, 5 %
    less time. Since its Batches end at 4 MiB of text (``NDJSON_BATCH_BYTES``) their buffers are
    small enough for glibc's own threshold, and this still halves the faults (29 000 → 17 000)."""
    mallopt = _glibc("mallopt")
    return (mallopt is not None and bool(mallopt(_M_MMAP_THRESHOLD, REUSE_UP_TO))
            and bool(mallopt(_M_TRIM_THRESHOLD, 2 * REUSE_UP_TO)))  # fmt: skip


def trim() -> bool:
    """Give the heap's free pages back to the system (glibc ``malloc_trim``: the top of the heap
    and every free page in its middle); False where there is no glibc."""
    release = _glibc("malloc_trim")
    return bool(release(0)) if release is not None else False
