"""Redaction: the rules on one string, then whole Batches (columns, documents, problems) as the
decode worker hands them to the sinks."""

from __future__ import annotations

import base64
from collections import Counter
from functools import partial
from io import BytesIO
from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from tests.filebuilder import SAMPLE_CEF, make_file
from wafpipe.decode.reader.file import FileReader
from wafpipe.enrich.redaction import RedactionConfig, Redactor
from wafpipe.enrich.redaction.text import TextRedactor, is_card_number, luhn_ok
from wafpipe.errors import ConfigError
from wafpipe.fields.arrow import column
from wafpipe.model import Problem

VISA = "4111111111111111"
AMEX = "378282246310005"
MASTERCARD_2 = "2223003122003222"
SECRET_WORD = "hunter2xyz"
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


def text(config: RedactionConfig | None = None) -> TextRedactor:
    return TextRedactor(config or RedactionConfig())


def test_card_numbers_need_luhn_a_brand_prefix_and_a_brand_length() -> None:
    assert luhn_ok(VISA) and is_card_number(VISA) and is_card_number(AMEX) and is_card_number(MASTERCARD_2)
    assert not is_card_number("4111111111111112")  # Luhn fails
    assert not is_card_number("1453290121336")  # an epoch in ms: no brand starts with 1
    assert not is_card_number("41111111111111111")  # Visa has no 17-digit numbers
    # A 16-digit number passing Luhn but starting like no brand is not a card.
    assert luhn_ok("9999999999999995") and not is_card_number("9999999999999995")


@pytest.mark.parametrize(("raw", "expected"), [
    (f"pay?cc={VISA}&x=1", "pay?cc=************1111&x=1"),
    ("n 4111 1111 1111 1111.", "n **** **** **** 1111."),
    ("n 4111-1111-1111-1111", "n ****-****-****-1111"),
    (f"amex {AMEX}", "amex ***********0005"),
    (f"too long 1{VISA}", f"too long 1{VISA}"),  # part of a longer number: not a card
    ("start=1453290121336 end=1566300670892", "start=1453290121336 end=1566300670892"),
])
def test_card_numbers_are_masked_to_their_last_four(raw: str, expected: str) -> None:
    assert text().redact(raw) == expected


def test_an_imperva_id_of_the_same_event_is_never_taken_for_a_card() -> None:
    rid = "4012888888881881"  # a valid Visa test number, here as the event's request id
    line = f"deviceExternalId={rid} qstr=cc\\={VISA}"
    assert text().redact(line, {rid}) == "deviceExternalId=4012888888881881 qstr=cc\\=************1111"


@pytest.mark.parametrize(("raw", "expected"), [
    ("user=bob&password=hunter2&next=/", "user=bob&password=[REDACTED]&next=/"),
    ("qstr=user\\=bob&password\\=a\\=b c=1", "qstr=user\\=bob&password\\=[REDACTED] c=1"),  # raw CEF
    ("q=password%3Dhunter2", "q=password%3D[REDACTED]"),
    ("new_password=x&API_KEY=y&search_key=z", "new_password=[REDACTED]&API_KEY=[REDACTED]&search_key=z"),
    ('{"login":"bob","password":"a \\" b","pin":1234}', '{"login":"bob","password":"[REDACTED]","pin":"[REDACTED]"}'),
    ('[{"Authorization":"Bearer x"},{"Accept":"*/*"}]', '[{"Authorization":"[REDACTED]"},{"Accept":"*/*"}]'),
    ('[{"Cookie":"sid=abc; theme=dark"}]', '[{"Cookie":"sid=[REDACTED]; theme=[REDACTED]"}]'),
    (f"Authorization: Bearer {BEARER}", "Authorization: [REDACTED]"),
    (f"ref=https://x/?a=1 Bearer {BEARER} end", "ref=https://x/?a=1 Bearer [REDACTED] end"),
    ("basic auth is on", "basic auth is on"),  # prose, not a credential
    ("passport=123&compass=n", "passport=123&compass=n"),
])
def test_secrets_in_parameters_json_headers_and_cookies(raw: str, expected: str) -> None:
    assert text().redact(raw) == expected


def test_redaction_is_idempotent() -> None:
    r = text()
    line = f'qstr=password\\=x&cc\\={VISA} additionalReqHeaders=[{{"Cookie":"a=b"}}] Bearer {BEARER}'
    once = r.redact(line)
    assert r.redact(once) == once


def test_hash_action_gives_the_same_token_for_the_same_value_and_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="hash_key_env"):
        RedactionConfig(action="hash")
    config = RedactionConfig(action="hash", hash_key_env="WP_TEST_REDACTION_KEY")
    monkeypatch.delenv("WP_TEST_REDACTION_KEY", raising=False)
    with pytest.raises(ConfigError, match="WP_TEST_REDACTION_KEY"):
        Redactor.from_config(config)
    monkeypatch.setenv("WP_TEST_REDACTION_KEY", "k" * 32)
    redactor = Redactor.from_config(config)
    assert redactor is not None
    a = redactor.text.redact("4111 1111 1111 1111 and 4111-1111-1111-1111 password=hunter2")
    first, _, second, *_ = a.split(" ")
    assert first == second and first.startswith("[card-hmac:") and "4111" not in a and "hunter2" not in a
    monkeypatch.setenv("WP_TEST_REDACTION_KEY", "j" * 32)
    other = Redactor.from_config(config)
    assert other is not None and other.text.redact(VISA) != first  # keyed: another key, another token


def test_custom_patterns_must_mean_the_same_in_python_and_the_native_scanner() -> None:
    with pytest.raises(ValidationError, match="look-around"):
        RedactionConfig(patterns=[{"name": "x", "regex": r"(?<=a)b"}])
    with pytest.raises(ValidationError, match="empty string"):
        RedactionConfig(patterns=[{"name": "x", "regex": r"a*"}])
    r = text(RedactionConfig(patterns=[{"name": "ssn", "regex": r"\b\d{3}-\d{2}-\d{4}\b"}]))
    counts: Counter[str] = Counter()
    assert r.redact("ssn 123-45-6789 ok", (), counts) == "ssn [REDACTED] ok" and counts == {"ssn": 1}


def test_rules_can_be_switched_off_one_by_one() -> None:
    r = text(RedactionConfig(card_numbers=False, parameters=[], cookies=False))
    raw = f'cc={VISA}&password=x [{{"Cookie":"a=b"}}] Authorization: k'
    assert r.redact(raw) == f'cc={VISA}&password=x [{{"Cookie":"a=b"}}] Authorization: [REDACTED]'
    assert text(RedactionConfig(enabled=False)).redact(raw) == raw
    assert Redactor.from_config(RedactionConfig(enabled=False)) is None


# -- whole Batches ---------------------------------------------------------------------------------

SECRET_CEF = (
    SAMPLE_CEF.replace("request=shop.example.com/index.html",
                       f"request=shop.example.com/pay?cc\\={VISA}&password\\={SECRET_WORD}")
    + f" qstr=cc\\={VISA}&password\\={SECRET_WORD}"
    + f' postbody={{"card":"{AMEX}","password":"{SECRET_WORD}"}}'
    + f' additionalReqHeaders=[{{"Authorization":"Bearer {BEARER}"}},{{"Cookie":"sid\\={SECRET_WORD}"}}]'
)


def _batches(lines: list[str], documents: bool = True) -> list:
    data = make_file(lines, compression="none")
    reader = FileReader(partial(BytesIO, data), "1_1.log", documents=documents)
    return list(reader.batches("k"))


def _secrets_in(blob: str) -> list[str]:
    return [s for s in (VISA, AMEX, SECRET_WORD, BEARER) if s in blob]


def test_a_batch_loses_every_secret_in_columns_documents_and_event_original() -> None:
    plain = SAMPLE_CEF.replace("deviceExternalId=", "deviceExternalId=1")
    [batch] = _batches([SECRET_CEF, plain])
    before = batch.events
    assert _secrets_in(str(before.to_pylist()))  # the corpus does hold them
    redactor = Redactor(RedactionConfig())
    redactor.batch(batch)
    rows = batch.events.to_pylist()
    assert not _secrets_in(str(rows)), _secrets_in(str(rows))
    assert not _secrets_in(b"".join(batch.documents or []).decode())
    assert batch.events.schema == before.schema
    # The row without secrets is untouched, the ids too; the masked values are what the rules say.
    assert rows[1] == before.to_pylist()[1]
    assert column(batch.events, "_id").to_pylist() == column(before, "_id").to_pylist()
    assert column(batch.events, "url.query").to_pylist()[0] == "cc=************1111&password=[REDACTED]"
    headers = column(batch.events, "imperva.waf.request_headers").to_pylist()[0]
    assert orjson.loads(headers) == [{"Authorization": "[REDACTED]"}, {"Cookie": "sid=[REDACTED]"}]
    assert redactor.counts["card_number"] >= 3 and redactor.counts["parameter"] >= 3
    assert batch.redacted == dict(redactor.counts)  # this Batch's own count, for the metrics
    again = _batches([SECRET_CEF])[0]
    redactor.batch(again)
    assert again.redacted["card_number"] == batch.redacted["card_number"]  # per Batch, not a running total


def test_documents_agree_with_the_redacted_columns() -> None:
    from wafpipe.store.documents import rebuild

    [batch] = _batches([SECRET_CEF])
    Redactor(RedactionConfig()).batch(batch)
    [(_, rebuilt)] = list(rebuild(batch.events))
    assert orjson.loads(batch.documents[0]) == rebuilt  # type: ignore[index]


def test_a_line_that_is_not_utf8_is_redacted_inside_its_base64_copy() -> None:
    line = SECRET_CEF.encode() + b" cs12=\xff\xfe"
    data = make_file(line + b"\n", compression="none")
    [batch] = list(FileReader(partial(BytesIO, data), "1_1.log").batches("k"))
    [encoded] = [v for v in column(batch.events, "imperva.waf.original_base64").to_pylist() if v]
    assert VISA.encode() in base64.b64decode(encoded)
    Redactor(RedactionConfig()).batch(batch)
    [encoded] = [v for v in column(batch.events, "imperva.waf.original_base64").to_pylist() if v]
    raw = base64.b64decode(encoded)
    assert VISA.encode() not in raw and SECRET_WORD.encode() not in raw and raw.endswith(b"\xff\xfe")


def test_problems_lose_secrets_in_their_line_reason_and_context() -> None:
    p = Problem("decode", "f.log", f"bad value {VISA}", hint="password=hunter2 was seen",
                raw=b"\xff " + f"cc={VISA}&password=hunter2".encode(), context={"value": f"cc={VISA}"})
    q = Redactor(RedactionConfig()).problem(p)
    assert VISA not in q.reason and "hunter2" not in q.hint and q.raw is not None
    assert VISA.encode() not in q.raw and b"hunter2" not in q.raw and q.raw.startswith(b"\xff ")
    assert q.context == {"value": "cc=************1111"}


def test_batches_without_documents_and_without_secrets_pass_unchanged(tmp_path: Path) -> None:
    [batch] = _batches([SAMPLE_CEF], documents=False)
    events = batch.events
    Redactor(RedactionConfig()).batch(batch)
    assert batch.events is events and batch.documents is None


def test_the_native_filters_never_miss_what_the_rules_change() -> None:
    """The scanner decides which values the Python rules see: on random text full of digit runs,
    separators and secret-looking words, every value a rule changes had its rule's bit set."""
    import random

    redactor = Redactor(RedactionConfig(patterns=[{"name": "ssn", "regex": r"[0-9]{3}-[0-9]{2}-[0-9]{4}"}]))
    names = dict(redactor._bits)  # noqa: SLF001 - the bit of each rule
    rng = random.Random(7)
    pieces = [VISA, AMEX, "4111 1111 1111 1111", "5555-5555-5555-4444", "1234", "-", " ", "=", "\\=", "%3D",
              "password", "Token", "x_api_key", "cookie", '"', ":", "Bearer ", "abcdefgh12", "&", "123-45-6789",
              "Authorization", "é", "\n", "0", "9"]
    changed = 0
    for _ in range(3000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        bits = redactor.scanner.scan(value.encode())
        for name, _, apply in redactor.text.rules:
            if apply(value, (), Counter()) != value:
                changed += 1
                assert any(bits & bit for bit, n in names.items() if n == name), (name, value)
    assert changed > 500  # the corpus does exercise the rules
