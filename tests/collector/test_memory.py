"""The collector's processes do not hold memory they are done with (issue 20: peak memory)."""

from __future__ import annotations

import platform
import subprocess
import sys
import weakref
from pathlib import Path
from typing import Any

import pytest

from wafpipe.collector.memory import pin_mmap_threshold
from wafpipe.collector.task import Task, decode_task
from wafpipe.decode.reader.file import FileReader
from wafpipe.model import Batch, FileRef
from wafpipe.tools.generate import generate_files


def test_a_batch_is_let_go_before_the_next_one_is_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker holding Batch N while decoding N+1 (a loop variable in a generator is enough) kept
    a whole Batch more resident: ~25 MiB at the default 10 000 events."""
    [path] = generate_files(tmp_path, events=3000, files=1, fmt="cef", compression="gzip", seed=5)
    st = path.stat()
    ref = FileRef("t", path.name, str(path), st.st_size, st.st_mtime_ns, f"t:{path}")
    handed: list[weakref.ref[Any]] = []
    alive_while_decoding: list[bool] = []
    make = FileReader._batch

    def watched(self: FileReader, *args: Any) -> Batch:
        # called once the core has decoded the next Batch: is the one handed over before still alive?
        alive_while_decoding.extend(r() is not None for r in handed)
        return make(self, *args)

    monkeypatch.setattr(FileReader, "_batch", watched)
    for batch in decode_task(Task(0, ref, None, documents=False), 1000, 3600.0):
        handed.append(weakref.ref(batch.events))
        del batch
    assert len(handed) >= 3 and alive_while_decoding and not any(alive_while_decoding)


GLIBC = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only"
)


@GLIBC
def test_the_mmap_threshold_is_pinned_on_glibc() -> None:
    assert pin_mmap_threshold()


_HOLES = """
import os
from wafpipe.collector.memory import pin_mmap_threshold, trim
def resident():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
pin_mmap_threshold()
blocks = [bytearray(100_000) for _ in range(400)]  # 40 MB of heap (below the mmap threshold), touched
last = blocks[-1]  # kept: the freed blocks are a hole in the heap's middle, which free() keeps
del blocks
before = resident()
released = trim()
print(released, before - resident())
"""


@GLIBC
def test_trim_gives_the_free_middle_of_the_heap_back() -> None:
    """What a decode worker does after each Batch it sent (its peak: 182 -> 164 MiB on a 1 GB file)."""
    out = subprocess.run([sys.executable, "-c", _HOLES], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "True" and int(out[1]) > 30_000_000


_WORKER_RUN = """
import pickle, sys
from wafpipe.collector.task import decode_task
task = pickle.loads(open(sys.argv[1], "rb").read())
found = sum(len(b.findings) for b in decode_task(task, 500, 3600.0))
print(found, sorted(m for m in ("duckdb", "sigma", "pyparsing", "cryptography") if m in sys.modules))
"""


def test_a_worker_running_the_shipped_rules_loads_neither_duckdb_nor_pysigma_nor_cryptography(tmp_path: Path) -> None:
    """Each would be resident in every worker (~55 MiB together) for nothing: the shipped rules run
    on Arrow (``store/query/predicate.py``), and the worker is handed the rules already loaded. Nor
    OpenSSL (~9 MiB): the file is not encrypted."""
    import pickle
    import subprocess

    from wafpipe.detect import SHIPPED_RULES, load_paths

    [path] = generate_files(tmp_path, events=2000, files=1, fmt="cef", attack_ratio=0.5, seed=5)
    st = path.stat()
    ref = FileRef("t", path.name, str(path), st.st_size, st.st_mtime_ns, f"t:{path}")
    task = Task(0, ref, None, documents=False, detections=tuple(load_paths(sorted(SHIPPED_RULES.glob("*.yml")))))
    (tmp_path / "task.pickle").write_bytes(pickle.dumps(task))
    out = subprocess.run([sys.executable, "-P", "-c", _WORKER_RUN, str(tmp_path / "task.pickle")],  # noqa: S603
                         capture_output=True, text=True, check=True).stdout.split(maxsplit=1)  # fmt: skip
    assert int(out[0]) > 0  # the rules ran and found attacks
    assert out[1].strip() == "[]"


def test_the_collector_process_does_not_load_what_only_decoding_needs() -> None:
    """OpenSSL and its bindings (~9 MiB resident) and ua-parser with RE2 (~3 MiB): the main process
    never decrypts nor parses a user agent; a worker imports them when it first needs them
    (``imperva/crypto.py``, ``enrich/useragent.py``; the worker's side is the test above)."""
    code = ("import sys, wafpipe.cli.app, wafpipe.collector.pipeline; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'cryptography', 'ua_parser'}))")  # fmt: skip
    out = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True, check=True).stdout  # noqa: S603
    assert out.strip() == "[]"


_REUSE = """
import resource, sys
from wafpipe.collector.memory import keep_freed_buffers
if sys.argv[1] == "keep":
    assert keep_freed_buffers()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
size = 40 * 1024 * 1024  # above glibc's highest mmap threshold (32 MiB): mapped anew each time by default
b"x" * size
before = faults()
for _ in range(5):
    b"x" * size  # allocated, every page written, and freed: as parse's Batch output buffers
print(faults() - before)
"""


@GLIBC
@pytest.mark.parametrize("mode", ["keep", "default"])
def test_parse_reuses_a_freed_batch_buffer_instead_of_faulting_in_new_pages(mode: str) -> None:
    """``wafpipe parse`` (``keep_freed_buffers``): five 40 MiB buffers after the first cost next to no
    page faults; by default each is mapped and faulted in again (~10 000 pages each)."""
    out = subprocess.run([sys.executable, "-c", _REUSE, mode], capture_output=True, text=True, check=True).stdout  # noqa: S603
    pages = 40 * 1024 * 1024 // 4096
    assert (int(out) < pages // 2) if mode == "keep" else (int(out) > 4 * pages)
