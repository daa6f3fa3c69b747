"""Version 1's output, and the intended differences of the native core from it.

Version 1 is wafpipe at commit ``c5e40ee``: a pure-Python decoder (``wafpipe.reader``,
``wafpipe.decode.*``, ``wafpipe.ecs.*``). The native core (``wafpipe._native``, read through
``wafpipe.decode.reader.read_path``) must give, for every line of every file, the id, the document
and the problems version 1 gave, except for a written list of intended differences
(``native/src/mapping/mod.rs``, ``native/src/ecs/convert.rs``, ``docs/ecs-mapping.md``). Each of
them is one named function of :data:`TRANSFORMATIONS` below, applied to version 1's output before
it is compared; a new intended difference is one more function in that list.

Who uses this module:

* ``bench/differential.py`` runs version 1 (from a git worktree of ``c5e40ee``, in a subprocess)
  and the core over a million generated and hostile lines and compares them;
* ``tests/native/fixtures/version1/make_fixture.py`` stores version 1's output for small stored
  inputs once; ``tests/native/test_version1.py`` compares the core with it on every ``make test``.

Parts: :mod:`.records` (the output format, :func:`write_record`, :func:`read_records`, and the
shared constants); :mod:`.worker` (version 1's side: :func:`version1_worker` runs *inside version
1's interpreter* and so imports nothing of this checkout's ``wafpipe`` — the whole package imports
only the standard library and orjson at its top); :mod:`.ids` (the id rules, :func:`event_id`,
:func:`headerless_identity`, written again from ``native/src/ids.rs``); :mod:`.events` and
:mod:`.documents` (version 1's output being transformed); :mod:`.transformations`
(:data:`TRANSFORMATIONS`, and :data:`PROBLEM_TRANSFORMATIONS` for the problems); :mod:`.core` (the
core's side, :func:`read_core`); :mod:`.compare` (:func:`compare_records`); :mod:`.inputs`
(:func:`write_imperva_file`, :func:`peer_files`, :func:`draw_lines`, :func:`hostile_files`).

A line version 1 crashed on (its decoder or its mapping raised: bugs of version 1 the core does not
have) has no version-1 output to compare; the worker marks it, and the comparison counts and lists
it apart, as it does lines a transformation cannot express exactly.

Version 1 reads the ingest time from ``time.time()`` (it has no ``wafpipe.clock``); the worker
fixes it to :data:`NOW_MS`, and the core side sets ``WAFPIPE_NOW`` to the same time.
"""

from tests.native.version1.compare import Comparison, compare_records
from tests.native.version1.core import CoreFile, read_core
from tests.native.version1.events import Version1Event, Version1File
from tests.native.version1.ids import event_id, headerless_identity
from tests.native.version1.inputs import (
    DEFAULT_HEADER,
    damaged_file,
    draw_lines,
    hostile_files,
    lines_body,
    peer_files,
    plain_body,
    write_imperva_file,
)
from tests.native.version1.records import NOW, NOW_MS, VERSION1_COMMIT, loads, read_records, write_record
from tests.native.version1.transformations import PROBLEM_TRANSFORMATIONS, TRANSFORMATIONS
from tests.native.version1.worker import Version1, version1_src, version1_worker

__all__ = [
    "DEFAULT_HEADER",
    "NOW",
    "NOW_MS",
    "PROBLEM_TRANSFORMATIONS",
    "TRANSFORMATIONS",
    "VERSION1_COMMIT",
    "Comparison",
    "CoreFile",
    "Version1",
    "Version1Event",
    "Version1File",
    "compare_records",
    "damaged_file",
    "draw_lines",
    "event_id",
    "headerless_identity",
    "hostile_files",
    "lines_body",
    "loads",
    "peer_files",
    "plain_body",
    "read_core",
    "read_records",
    "version1_src",
    "version1_worker",
    "write_imperva_file",
    "write_record",
]
