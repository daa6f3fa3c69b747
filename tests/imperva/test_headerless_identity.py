"""A headerless file's identity is its first event line: growing the file keeps the ids of its old
lines, so a re-read stores only the new lines (DESIGN §2)."""

from __future__ import annotations

from pathlib import Path

import wafpipe

LINE = "CEF:0|Incapsula|SIEMintegration|1|1|Normal|0|fileId=3412 sourceServiceName=a.example src=10.0.0.{n} start=1624459989{n:03d}"


def ids(path: Path) -> list[str]:
    return [e.id for e in wafpipe.parse_file(path) if isinstance(e, wafpipe.Event)]


def test_growing_a_headerless_file_keeps_the_ids_of_its_old_lines(tmp_path: Path) -> None:
    path = tmp_path / "plain.log"
    path.write_text("".join(LINE.format(n=n) + "\n" for n in range(20)))
    before = ids(path)
    with open(path, "a") as fh:
        fh.write("".join(LINE.format(n=n) + "\n" for n in range(20, 30)))
    after = ids(path)
    assert len(before) == 20 and len(after) == 30
    assert after[:20] == before


def test_directive_lines_are_not_the_identity(tmp_path: Path) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_text("#Software: x\n" + LINE.format(n=1) + "\n")
    b.write_text("#Software: y\n" + LINE.format(n=1) + "\n")
    assert ids(a) == ids(b)
    c = tmp_path / "c.log"
    c.write_text(LINE.format(n=2) + "\n")
    assert ids(c) != ids(a)
