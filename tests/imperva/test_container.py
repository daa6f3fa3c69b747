"""Container reader: every layer combination round-trips, faults are reported, memory stays flat.

The container (:class:`ImpervaFile`: header, outer gzip, decryption) hands the body on still
compressed (:meth:`ImpervaFile.compressed_body`); the native core inflates it, checks its MD5 and
splits its lines. So each file here is read whole by the product reader (:class:`FileReader`), and
its lines are what the reader yielded for them (:func:`tests.decode.core.item_lines`: ordinal, line
number, byte offset, raw bytes, full length of a cut line), with :attr:`FileReader.info` as the
file's facts.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.decode.core import item_lines
from tests.filebuilder import make_file, make_keys, sample_lines
from wafpipe.decode.reader import FileReader
from wafpipe.errors import MissingKeyError
from wafpipe.imperva.container import BodyLine, ImpervaFile, parse_name
from wafpipe.imperva.crypto import encrypt_body

LINES = sample_lines(6)


def reader(data: bytes, name: str = "1234_56.log", keys: Path | None = None, **kw: Any) -> FileReader:
    return FileReader(lambda: io.BytesIO(data), name, keys_dir=keys, **kw)


def lines(r: FileReader) -> list[BodyLine]:
    """The file's body lines, as the reader yielded them (its ``info`` is complete after)."""
    return item_lines(r.items())


def read(data: bytes, name: str = "1234_56.log", keys: Path | None = None) -> tuple[list[bytes], FileReader]:
    f = reader(data, name, keys)
    return [bl.raw for bl in lines(f)], f


def expected() -> list[bytes]:
    return [ln.encode() for ln in LINES]


@pytest.mark.parametrize("compression", ["zlib", "gzip", "deflate", "none"])
@pytest.mark.parametrize("gzip_wrap", [False, True])
def test_round_trip_every_compression(compression: str, gzip_wrap: bool) -> None:
    got, f = read(make_file(LINES, compression=compression, gzip_wrap=gzip_wrap))
    assert got == expected()
    assert f.info.compression == compression
    assert f.info.gzip_wrapped is gzip_wrap
    assert f.info.checksum_status == "ok"
    assert f.info.error is None


def test_encrypted_zlib_round_trip(tmp_path: Path) -> None:
    pub = make_keys(tmp_path, "3")
    got, f = read(make_file(LINES, public_key=pub, key_id="3"), keys=tmp_path)
    assert got == expected()
    assert f.info.encrypted and f.info.checksum_status == "ok"


def test_encrypted_with_pem_layout(tmp_path: Path) -> None:
    pub = make_keys(tmp_path / "folder", "7")
    (tmp_path / "7.pem").write_bytes((tmp_path / "folder" / "7" / "Private.key").read_bytes())
    got, _ = read(make_file(LINES, public_key=pub, key_id="7", gzip_wrap=True), keys=tmp_path)
    assert got == expected()


def test_missing_key_names_id_and_path(tmp_path: Path) -> None:
    pub = make_keys(tmp_path / "elsewhere", "5")
    data = make_file(LINES, public_key=pub, key_id="5")
    got, f = read(data, keys=tmp_path)
    assert got == []
    assert f.info.error is not None and f.info.error.kind == "missing_key"
    msg = str(f.info.error)
    assert "publicKeyId 5" in msg and str(tmp_path / "5" / "Private.key") in msg
    # the container itself: the header is read, the body cannot be decrypted
    container = ImpervaFile(lambda: io.BytesIO(data), "1234_56.log", tmp_path)
    with pytest.raises(MissingKeyError) as err:
        list(container.compressed_body())
    assert container.info.encrypted and container.info.header["publickeyid"] == "5"
    assert str(err.value) == msg


def test_wrong_key_is_a_decrypt_error(tmp_path: Path) -> None:
    make_keys(tmp_path, "1")
    other = make_keys(tmp_path / "other", "1")
    _, f = read(make_file(LINES, public_key=other), keys=tmp_path)
    assert f.info.error is not None and f.info.error.kind == "decrypt"
    assert "does not decrypt" in str(f.info.error)


def test_a_wrong_key_that_unwraps_to_an_aes_key_is_still_a_decrypt_error(tmp_path: Path) -> None:
    """PKCS#1 v1.5's implicit rejection: a wrong private key may unwrap *some* 16-byte key. Made
    certain here by wrapping another AES key than the body's, for the right key pair: the body
    decrypts to noise, which is a decrypt error (the key), not a corrupt compressed body."""
    pub = make_keys(tmp_path, "1")
    data = make_file(LINES, public_key=pub)
    head, _, body = data.partition(b"|==|")
    wrapped_body_key = re.search(rb"^key:(.*)$", head, re.M)
    assert wrapped_body_key is not None
    other_key, _ = encrypt_body(pub, b"", os.urandom(16))
    data = head.replace(wrapped_body_key.group(1), other_key.encode()) + b"|==|" + body
    _, f = read(data, keys=tmp_path)
    assert f.info.error is not None and f.info.error.kind == "decrypt"
    assert "does not decrypt with private key 1" in str(f.info.error)


def test_bad_ciphertext_length_keeps_events_before_the_fault(tmp_path: Path) -> None:
    pub = make_keys(tmp_path, "1")
    data = make_file(sample_lines(400), compression="none", public_key=pub)
    got, f = read(data[:-7], keys=tmp_path)
    assert f.info.error is not None and "multiple of 16" in str(f.info.error)
    assert 300 < len(got) <= 400
    assert f.info.partial and f.info.checksum_status == "incomplete"


def test_headerless_file() -> None:
    got, f = read(make_file(LINES, with_header=False, compression="none"))
    assert got == expected()
    assert not f.info.has_header and f.info.checksum_status == "absent"
    assert len(f.info.identity) == 16


def test_headerless_zlib_file() -> None:
    got, f = read(make_file(LINES, with_header=False, compression="zlib"))
    assert got == expected() and f.info.compression == "zlib"


def test_separator_without_newline() -> None:
    for comp in ("zlib", "none"):
        got, f = read(make_file(LINES, compression=comp, separator_newline=False))
        assert got == expected() and f.info.has_header


def test_header_names_case_insensitive_and_unknown_kept() -> None:
    data = make_file(LINES, header={"FORMAT": "CEF", "Some New Field": "x y"})
    _, r = read(data)
    container = ImpervaFile(lambda: io.BytesIO(data), "1234_56.log")
    container.compressed_body()  # parses the header at once
    for f in (r, container):
        assert f.info.header["format"] == "CEF"
        assert f.info.header["some new field"] == "x y"
        assert f.info.header_names["some new field"] == "Some New Field"


def test_key_minus_one_means_plain() -> None:
    got, f = read(make_file(LINES, header={"key": "-1"}))
    assert got == expected() and not f.info.encrypted


def test_concatenated_streams() -> None:
    a, b = "\n".join(LINES[:3]).encode() + b"\n", "\n".join(LINES[3:]).encode() + b"\n"
    body = zlib.compress(a) + zlib.compress(b)
    hdr = f"format:CEF\nchecksum:{hashlib.md5(a + b).hexdigest()}\n|==|\n".encode()
    got, f = read(hdr + body)
    assert got == expected() and f.info.checksum_status == "ok"


def test_checksum_mismatch_and_absent() -> None:
    _, f = read(make_file(LINES, checksum="0" * 32))
    assert f.info.checksum_status == "mismatch"
    _, f = read(make_file(LINES, checksum=None))
    assert f.info.checksum_status == "absent"
    _, f = read(make_file(LINES, checksum=hashlib.md5(b"x").hexdigest().upper()))
    assert f.info.checksum_status == "mismatch"


def test_checksum_compared_case_insensitively() -> None:
    plain = ("\n".join(LINES) + "\n").encode()
    _, f = read(make_file(LINES, checksum=hashlib.md5(plain).hexdigest().upper()))
    assert f.info.checksum_status == "ok"


def test_truncated_zlib_keeps_complete_lines_and_flags_the_cut_one() -> None:
    data = make_file(sample_lines(2000))
    f = reader(data[: len(data) // 2], "1_2.log")
    got = lines(f)
    assert f.info.error is not None and "truncated" in str(f.info.error)
    assert got[-1].full_length == -1  # the cut line is flagged, never passed off as whole
    assert all(bl.full_length == 0 for bl in got[:-1])
    assert len(got) > 100


def test_only_lf_splits_lines() -> None:
    weird = "CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| cs1=a\x0bb\x1cc\x85d\u2028e"
    got, _ = read(make_file([weird, LINES[0]], compression="none"))
    assert got == [weird.encode(), LINES[0].encode()]


def test_crlf_and_blank_lines() -> None:
    body = ("\r\n".join(LINES) + "\r\n\r\n\n").encode()
    got, f = read(make_file(body))
    assert got == expected()
    assert [bl.line_no for bl in lines(reader(make_file(body), "x"))] == list(range(1, 7))


def test_long_line_cut_to_head_with_length_and_hash() -> None:
    long = "CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| postbody=" + "A" * 5000
    data = make_file([LINES[0], long, LINES[1]], compression="zlib")
    got = lines(reader(data, "x.log", max_line_bytes=1000))
    assert [len(bl.raw) for bl in got] == [len(LINES[0]), 1000, len(LINES[1])]
    assert got[1].full_length == len(long)
    assert got[1].full_hash == hashlib.sha256(long.encode()).hexdigest()
    assert got[2].offset == len(LINES[0]) + 1 + len(long) + 1


def test_offsets_point_at_lines() -> None:
    plain = ("\n".join(LINES) + "\n").encode()
    got = lines(reader(make_file(LINES), "x"))
    assert len(got) == len(LINES)
    for bl in got:
        assert plain[bl.offset : bl.offset + len(bl.raw)] == bl.raw


def test_name_parsing() -> None:
    assert parse_name("8416_179.log") == ("8416", 179)
    assert parse_name("798724459616_304511.log.gz") == ("798724459616", 304511)
    assert parse_name("events.log") == (None, None)


# Reads one file in a fresh process, as the collector's workers do (events as Arrow batches of 1000,
# no documents: the lines and their columns, version 1's measure was the lines alone; both bodies
# below span several batches, so one batch's size is in both peaks), and prints how
# many events came, the peak of Python's own allocations (tracemalloc) and the growth of the
# process's peak resident memory (VmHWM), which also sees the core's buffers (tracemalloc does
# not). Not ru_maxrss: a child inherits its parent's peak through fork, which would hide the growth.
_MEASURE = """
import json, re, sys, tracemalloc
from pathlib import Path
from wafpipe.decode.reader import read_path

def hwm():
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\\s*(\\d+) kB", status).group(1)) * 1024

before = hwm()
tracemalloc.start()
count = sum(b.events.num_rows for b in read_path(sys.argv[1], documents=False, batch_rows=1000).batches())
_, peak = tracemalloc.get_traced_memory()
print(json.dumps({"count": count, "traced_peak": peak, "rss_growth": hwm() - before}))
"""


def _measure(path: Path, copies: int) -> dict[str, int]:
    line = LINES[0].encode() + b"\n"
    comp = zlib.compressobj()
    with open(path, "wb") as fh:
        fh.write(b"format:CEF\n|==|\n")
        for _ in range(copies):
            fh.write(comp.compress(line * 800))
        fh.write(comp.flush())
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, check=True, timeout=300
    )
    got: dict[str, int] = json.loads(done.stdout)
    return got


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
def test_memory_stays_flat_on_a_large_file(tmp_path: Path) -> None:
    """~40 MB of decoded body streams through with a small, size-independent peak: Python's
    allocations stay under 12 MB (version 1's bound), and the process's peak for the 40 MB body is
    within 12 MB of its peak for a body ten times smaller."""
    small = _measure(tmp_path / "1_1.log", 10)
    large = _measure(tmp_path / "1_2.log", 100)
    assert (small["count"], large["count"]) == (8_000, 80_000)
    peak = large["traced_peak"]
    assert peak < 12 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    grown = large["rss_growth"] - small["rss_growth"]
    assert grown < 12 * 1024 * 1024, (
        f"peak resident memory grows with the body: {small['rss_growth'] / 1e6:.0f} MB for 4 MB, "
        f"{large['rss_growth'] / 1e6:.0f} MB for 40 MB"
    )
