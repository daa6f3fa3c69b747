"""Event-id properties of DESIGN §2."""

from __future__ import annotations

import io

from tests.filebuilder import make_file, sample_lines
from wafpipe.decode.reader import FileReader
from wafpipe.model import Event

LINES = sample_lines(8)


def ids(data: bytes, name: str) -> list[str]:
    reader = FileReader(lambda: io.BytesIO(data), name)
    return [i.id for i in reader.items() if isinstance(i, Event)]


def test_same_file_other_name_path_or_compression_same_ids() -> None:
    base = ids(make_file(LINES, compression="zlib"), "1234_10.log")
    assert len(base) == len(set(base)) == 8
    assert ids(make_file(LINES, compression="gzip"), "renamed.log") == base
    assert ids(make_file(LINES, compression="none", gzip_wrap=True), "1234_10.log.gz") == base
    assert ids(make_file(LINES, compression="deflate"), "s3-copy/1234_10.log") == base


def test_identical_lines_in_one_file_are_two_events() -> None:
    got = ids(make_file([LINES[0], LINES[0], LINES[1]]), "1_1.log")
    assert len(got) == 3 and len(set(got)) == 3


def test_different_file_under_an_old_name_gets_new_ids() -> None:
    first = ids(make_file(LINES, header={"startTime": "1"}), "1_1.log")
    second = ids(make_file(LINES, header={"startTime": "2"}), "1_1.log")
    assert not set(first) & set(second)


def test_headerless_files_keyed_by_their_first_event_line() -> None:
    """Whatever compression or name brought it, and however far it has grown, a headerless file
    keeps the ids of its lines (DESIGN §2: identity = the first event line)."""
    a = ids(make_file(LINES, with_header=False, compression="none"), "a.log")
    b = ids(make_file(LINES, with_header=False, compression="zlib"), "b.log")
    shorter = ids(make_file(LINES[:-1], with_header=False, compression="none"), "a.log")
    other = ids(make_file(LINES[1:], with_header=False, compression="none"), "a.log")
    assert a == b
    assert shorter == a[:-1]
    assert not set(a) & set(other)


def test_ids_are_url_safe_128_bit() -> None:
    for i in ids(make_file(LINES), "x.log"):
        assert len(i) == 22 and set(i) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
