"""Keep the collector's freed buffers from staying resident (issue 20: peak memory).

glibc serves an allocation of 128 KiB or more with a mapping of its own, returned to the kernel
when freed, but each time such a block is freed it raises that threshold to the block's size (up
to 32 MiB): from then on buffers of that size come from the heap, which gives memory back only
from its top. A collector allocates and frees buffers of megabytes for every Batch (Arrow
columns, IPC messages), so after a few Batches each process kept tens of MiB it had freed.
Pinning the threshold stops that.
"""

from __future__ import annotations

import ctypes
import sys

_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value, kept


def pin_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold for this process; False where there is no glibc ``mallopt``."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
