"""A quarantined file under redaction without ``keep_raw``: kept as the redacted text of what can be
read of it — whatever its wrapping, however it breaks off, however far it inflates."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from functools import partial
from io import BytesIO

from tests.filebuilder import SAMPLE_CEF, make_file
from wafpipe.collector.quarantine import redacted_rendering
from wafpipe.enrich.redaction import RedactionConfig, Redactor

CARD = "4111111111111111"
LINE = SAMPLE_CEF + f" qstr=cc\\={CARD}&password\\=hunter2xyz"


def render(data: bytes, max_bytes: int = 64 << 20) -> tuple[bytes, dict[str, object]]:
    redactor = Redactor(RedactionConfig())
    return redacted_rendering(partial(BytesIO, data), redactor.line, max_bytes)


def test_every_wrapping_is_read_and_redacted() -> None:
    cases = [(make_file([LINE] * 3, compression="zlib"), True),
             (make_file([LINE] * 3, compression="gzip", gzip_wrap=True), True),
             (make_file([LINE] * 3, compression="none"), True), ((LINE + "\n").encode() * 3, False)]
    for data, has_header in cases:
        text, facts = render(data)
        assert text.count(b"cc\\=************1111&password\\=[REDACTED]") == 3, text[:300]
        assert CARD.encode() not in text and b"hunter2xyz" not in text
        assert facts["original_size"] == len(data)
        assert facts["original_sha256"] == hashlib.sha256(data).hexdigest()
        assert (b"|==|\n" in text) is has_header


def test_a_cut_stream_keeps_what_inflated_and_says_so() -> None:
    whole = make_file([LINE.replace("deviceExternalId=", f"deviceExternalId={i}") for i in range(400)])
    text, facts = render(whole[: len(whole) * 2 // 3])
    assert 0 < text.count(b"************1111") < 400 and CARD.encode() not in text
    assert any("only in part" in n for n in facts["notes"])  # type: ignore[union-attr]


def test_a_bomb_is_kept_only_up_to_the_bound() -> None:
    body = zlib.compress(b"\n" * (50 << 20) + (LINE + "\n").encode())
    data = b"accountId:1\nformat:CEF\n|==|\n" + body
    text, facts = render(data, max_bytes=1 << 20)
    assert len(text) <= (1 << 20) + 100
    assert any("only the first" in n for n in facts["notes"])  # type: ignore[union-attr]
    assert facts["original_size"] == len(data)


def test_plain_gzip_of_text_is_read() -> None:
    data = gzip.compress((LINE + "\n").encode())
    text, _ = render(data)
    assert b"************1111" in text and CARD.encode() not in text
