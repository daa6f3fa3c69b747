"""The benchmarks time processes as a user's machine runs them: with wafpipe's bytecode cached.

Python compiles a module's source at import unless its ``__pycache__`` holds the bytecode, and
writes that cache unless ``PYTHONDONTWRITEBYTECODE`` is set, as it is on the build machines. There,
every collector, decode worker and ``wafpipe parse`` process compiled all of wafpipe at start
(~0.2 s each, measured: the collector's empty run 1.4 → 1.2 s), which an installed wafpipe never
does. The benches compile it once before timing anything.
"""

from __future__ import annotations

import compileall
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "wafpipe"


def compile_wafpipe() -> None:
    """Write the bytecode of every wafpipe module (a no-op for those already up to date)."""
    compileall.compile_dir(PACKAGE, quiet=1)
