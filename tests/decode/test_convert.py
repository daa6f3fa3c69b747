"""Value converters of the field table."""

from __future__ import annotations

import pytest

from wafpipe.decode.convert import to_date, to_ip, to_ip_list, to_json, to_keyword_list


def test_json_tolerates_imperva_quirks_and_keeps_objects() -> None:
    assert to_json(',,[{"a":"b"}]') == [{"a": "b"}]
    assert to_json('[{""rule_id"":""4709724""}]') == [{"rule_id": "4709724"}]
    assert to_json('"just text"') == {"value": "just text"}  # flattened fields take objects only
    assert to_json('["a", 1]') == {"value": ["a", 1]}
    with pytest.raises(ValueError):
        to_json("{not json")


def test_addresses_and_lists() -> None:
    assert to_ip("2001:DB8::1") == "2001:db8::1"
    with pytest.raises(ValueError):
        to_ip("xxx.xxx.31.120")
    assert to_ip_list("1.128.0.0, 81.2.69.144") == ["1.128.0.0", "81.2.69.144"]
    assert to_keyword_list("[US]") == ["US"]
    assert to_keyword_list(",High Risk SQL Expressions,,SQL SELECT Expression,") == [
        "High Risk SQL Expressions",
        "SQL SELECT Expression",
    ]


def test_dates() -> None:
    assert to_date("1453290121336") == "2016-01-20T11:42:01.336Z"
    assert to_date("1453290121") == "2016-01-20T11:42:01.000Z"
    with pytest.raises(ValueError):
        to_date("yesterday")
