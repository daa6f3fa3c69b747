"""The installed core is the build ``make`` means it to be (``native/pgo/install.sh``):
profile-guided wherever rustup's ``llvm-tools`` are there to merge its profile, plain only where
they are not. A step that builds the core again without the profile (as ``pip install -e
'.[test]'`` did after the optimised build) fails here, instead of leaving a slower core unnoticed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from wafpipe import _native


def llvm_profdata() -> Path | None:
    """rustup's ``llvm-profdata`` for the installed rustc (the one the build script looks for)."""
    info = subprocess.run(["rustc", "-vV"], capture_output=True, text=True, check=True).stdout
    host = next(line.split(": ", 1)[1] for line in info.splitlines() if line.startswith("host: "))
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True, check=True).stdout
    tool = Path(sysroot.strip()) / "lib" / "rustlib" / host / "bin" / "llvm-profdata"
    return tool if tool.is_file() else None


def test_the_core_is_built_with_its_profile_where_the_tools_are_there() -> None:
    expected = "profile-guided" if llvm_profdata() else "plain"
    built: str = _native.CORE_BUILD
    assert built == expected, (
        f"the installed core is a {built} build, {expected} expected: build it with "
        "`make install` (native/pgo/install.sh says why it fell back, if it did)"
    )
