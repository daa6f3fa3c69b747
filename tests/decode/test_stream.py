"""Streaming: delimiter framing across chunks, flush, over-long records, failures."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.decode import samples
from wafpipe.decode.leef import decode_leef
from wafpipe.decode.record import RawRecord
from wafpipe.decode.stream import (
    NON_UTF8_WARNING,
    Chunk,
    LineSplitter,
    StreamDecoder,
    StreamFailure,
    decode_bytes,
)


def _data(chunks: list[Chunk]) -> list[bytes]:
    return [c.data for c in chunks]


def test_delimiter_split_across_chunks() -> None:
    sp = LineSplitter(b"\r\n")
    assert sp.feed(b"abc\r") == []
    assert _data(sp.feed(b"\ndef\r\nghi")) == [b"abc", b"def"]
    assert _data(sp.flush()) == [b"ghi"]
    assert sp.flush() == []


def test_lf_default_and_str_input() -> None:
    sp = LineSplitter()
    assert _data(sp.feed("a\nb\n\nc")) == [b"a", b"b", b""]
    assert _data(sp.flush()) == [b"c"]


def test_only_the_delimiter_splits() -> None:
    sp = LineSplitter(b"\n")
    assert _data(sp.feed(b"a\x0bb\x1cc\rd\xe2\x80\xa8e\n")) == [b"a\x0bb\x1cc\rd\xe2\x80\xa8e"]


def test_blank_tail_is_not_a_record() -> None:
    sp = LineSplitter()
    sp.feed(b"x\n  \t")
    assert sp.flush() == []


def test_overlong_record_is_cut_and_hashed() -> None:
    big = b"A" * 50
    sp = LineSplitter(b"\r\n", max_bytes=10)
    out = sp.feed(big[:20]) + sp.feed(big[20:45]) + sp.feed(big[45:] + b"\r") + sp.feed(b"\nnext\r\n")
    assert len(out) == 2
    assert out[0].data == b"A" * 10 and out[0].full_length == 50 and out[0].truncated
    assert out[0].sha256 == hashlib.sha256(big).hexdigest()
    assert out[1].data == b"next" and not out[1].truncated
    assert len(sp._buf) == 0


def test_overlong_record_in_one_chunk_and_at_flush() -> None:
    sp = LineSplitter(max_bytes=4)
    out = sp.feed(b"0123456789\nok\n")
    assert [(c.data, c.full_length) for c in out] == [(b"0123", 10), (b"ok", 2)]
    sp.feed(b"abcdefgh")
    tail = sp.flush()
    assert [(c.data, c.full_length) for c in tail] == [(b"abcd", 8)]
    assert tail[0].sha256 == hashlib.sha256(b"abcdefgh").hexdigest()


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        LineSplitter(b"")
    with pytest.raises(ValueError):
        LineSplitter(max_bytes=0)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.binary(max_size=30).filter(lambda b: b"\r\n" not in b and not b.endswith(b"\r")), max_size=8),
    st.lists(st.integers(min_value=0, max_value=400), max_size=10),
)
def test_any_chunking_gives_the_same_records(records: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(r + b"\r\n" for r in records)
    points = sorted({min(c, len(stream)) for c in cuts})
    pieces = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    sp = LineSplitter(b"\r\n")
    out = [c.data for piece in pieces for c in sp.feed(piece)] + [c.data for c in sp.flush()]
    assert out == records


def test_stream_decoder_records_failures_and_flags() -> None:
    dec = StreamDecoder(delimiter="\n", max_bytes=2000)
    bad_utf8 = samples.S35_SQLI.replace("Kyiv", "K\udcffv").encode("utf-8", "surrogateescape")
    chunk = (samples.S32_CACHE_HIT + "\n\nnot cef at all\n").encode() + bad_utf8[:100]
    out = dec.decode(chunk)
    assert len(out) == 2
    assert isinstance(out[0], RawRecord) and out[0].ext["act"] == "REQ_CACHED_FRESH"
    assert isinstance(out[1], StreamFailure) and out[1].raw == b"not cef at all"
    assert "CEF header" in out[1].error.reason
    out = dec.decode(bad_utf8[100:]) + dec.flush()
    assert len(out) == 1 and isinstance(out[0], RawRecord)
    assert out[0].ext["cicode"] == "K\ufffdv"
    assert out[0].warnings == [NON_UTF8_WARNING]


def test_stream_decoder_truncated_record_is_flagged() -> None:
    dec = StreamDecoder(max_bytes=60)
    out = dec.decode(samples.S35_SQLI[:60] + "x" * 100 + "\n")
    # The head of a CEF line still decodes (its extension is cut short) and says so.
    assert len(out) == 1 and isinstance(out[0], RawRecord)
    assert "exceeds max_bytes" in out[0].warnings[-1] and "160 bytes" in out[0].warnings[-1]


def test_stream_decoder_with_leef() -> None:
    dec = StreamDecoder(decode_leef, delimiter=b"\x00")
    out = dec.decode(samples.LEEF_ACCESS_TABS.encode() + b"\x00" + samples.LEEF_IPV6_TABS.encode()) + dec.flush()
    assert [r.ext["devicefacility"] for r in out if isinstance(r, RawRecord)] == ["atl", "fra"]


def test_decode_bytes() -> None:
    rec = decode_bytes(samples.S38_IPV6.encode())
    assert rec.warnings == [] and rec.ext["src"] == "2001:db8:abcd::17"
    rec = decode_bytes(samples.S38_IPV6.replace("Frankfurt", "Fr\u00e4nkfurt").encode("latin-1"))
    assert rec.warnings == [NON_UTF8_WARNING] and rec.ext["cicode"].startswith("Fr\ufffdnkfurt")
