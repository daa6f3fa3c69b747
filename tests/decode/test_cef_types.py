"""CEF key dictionary and typed values (timestamps, MAC addresses)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from wafpipe.decode.cef_types import (
    CEF_KEYS,
    CefTime,
    CefValueError,
    extension_type,
    full_name,
    parse_cef_timestamp,
    parse_zone,
    to_mac,
)
from wafpipe.errors import DecodeError


@pytest.mark.parametrize(
    ("key", "full", "typ"),
    [
        ("src", "sourceAddress", "ip"),
        ("spt", "sourcePort", "int"),
        ("in", "bytesIn", "long"),
        ("rt", "deviceReceiptTime", "timestamp"),
        ("amac", "agentMacAddress", "mac"),
        ("dlat", "destinationGeoLatitude", "double"),
        ("msg", "message", "string"),
        ("request", "requestUrl", "string"),
        ("cs4", "deviceCustomString4", "string"),
        ("cs11Label", "deviceCustomString11Label", "string"),
        ("cn1", "deviceCustomNumber1", "long"),
        ("cfp15", "deviceCustomFloatingPoint15", "float"),
        ("c6a12", "deviceCustomIPv6Address12", "ip"),
        ("flexDate1", "flexDate1", "timestamp"),
        ("sourceAddress", "sourceAddress", "ip"),  # a full name is itself
        ("destinationLongitude", "destinationLongitude", "double"),  # legacy full name
        ("fileid", "fileId", "string"),  # Imperva's lower-case spelling
        ("requestmethod", "requestMethod", "string"),
    ],
)
def test_dictionary(key: str, full: str, typ: str) -> None:
    assert full_name(key) == full
    assert extension_type(key) == typ


def test_unknown_keys() -> None:
    assert full_name("siteid") == "siteid" and extension_type("siteid") is None
    assert full_name("ad.field[0]") == "ad.field[0]"
    assert len(CEF_KEYS) > 100 and all(typ in {"string", "int", "long", "double", "ip", "mac", "timestamp"} for _, typ in CEF_KEYS.values())


NOW = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("1718000000123", "2024-06-10T06:13:20.123Z"),
        ("1718000000123.5", "2024-06-10T06:13:20.123500Z"),
        ("Jun 10 2024 06:13:20", "2024-06-10T06:13:20Z"),
        ("Jun 10 2024 06:13:20.5", "2024-06-10T06:13:20.500Z"),
        ("Jun  9 2024 06:13:20 Z", "2024-06-09T06:13:20Z"),
        ("Jun 10 2024 06:13:20.000 EST", "2024-06-10T11:13:20Z"),
        ("Jun 10 2024 06:13:20 CEST", "2024-06-10T04:13:20Z"),
        ("Jun 10 2024 06:13:20 +05", "2024-06-10T01:13:20Z"),
        ("Jun 10 2024 06:13:20 -0530", "2024-06-10T11:43:20Z"),
        ("Jun 10 2024 06:13:20 +05:00", "2024-06-10T01:13:20Z"),
        ("Jun 10 2024 06:13:20 GMT+05:00", "2024-06-10T01:13:20Z"),
        ("Jun 10 2024 06:13:20 Europe/Moscow", "2024-06-10T03:13:20Z"),
        ("jun 10 06:13:20.123456", "2024-06-10T06:13:20.123456Z"),
    ],
)
def test_timestamps(value: str, iso: str) -> None:
    assert parse_cef_timestamp(value, now=NOW).isoformat() == iso


def test_zone_for_zoneless_values_only() -> None:
    assert parse_cef_timestamp("Jun 10 2024 06:13:20", tz="Europe/Moscow").isoformat() == "2024-06-10T03:13:20Z"
    assert parse_cef_timestamp("Jun 10 2024 06:13:20", tz=timezone(timedelta(hours=-2))).isoformat() == (
        "2024-06-10T08:13:20Z"
    )
    assert parse_cef_timestamp("Jun 10 2024 06:13:20 Z", tz="Europe/Moscow").isoformat() == "2024-06-10T06:13:20Z"
    assert parse_cef_timestamp("1718000000000", tz="Europe/Moscow").isoformat() == "2024-06-10T06:13:20Z"


@pytest.mark.parametrize(
    ("value", "now", "year"),
    [
        ("Jun 12 00:00:00", datetime(2024, 6, 10, tzinfo=UTC), 2024),  # two days ahead: still this year
        ("Jun 13 00:00:00", datetime(2024, 6, 10, tzinfo=UTC), 2023),  # further ahead: last year's
        ("Dec 31 23:59:59", datetime(2025, 1, 1, 0, 5, tzinfo=UTC), 2024),
        ("Jan 01 00:00:08", datetime(2024, 12, 31, 23, 59, tzinfo=UTC), 2025),
        ("Feb 29 12:00:00", datetime(2023, 6, 1, tzinfo=UTC), 2023),  # read in a common year
    ],
)
def test_year_less_values(value: str, now: datetime, year: int) -> None:
    assert parse_cef_timestamp(value, now=now).datetime.year == year


def test_feb_29_in_a_common_year_is_the_28th() -> None:
    assert parse_cef_timestamp("Feb 29 12:00:00", now=datetime(2023, 6, 1, tzinfo=UTC)).isoformat() == (
        "2023-02-28T12:00:00Z"
    )


@pytest.mark.parametrize(
    "value", ["", "Last Thursday", "2024-06-10T06:13:20Z", "Foo 10 2024 06:13:20", "Jun 31 2024 06:13:20", "Jun 10 2024 06:13:20 XYZT", "-5"]
)
def test_bad_timestamps(value: str) -> None:
    with pytest.raises(CefValueError) as err:
        parse_cef_timestamp(value)
    assert isinstance(err.value, DecodeError) and isinstance(err.value, ValueError)
    assert repr(value) in str(err.value) or "time zone" in str(err.value)


def test_cef_time() -> None:
    t = CefTime(1_718_000_000_123_456_789)
    assert t.nanosecond == 123_456_789
    assert t.isoformat() == "2024-06-10T06:13:20.123456789Z"
    assert t.isoformat(3) == "2024-06-10T06:13:20.123Z"
    assert t.isoformat(0) == "2024-06-10T06:13:20Z"
    assert t.datetime == datetime(2024, 6, 10, 6, 13, 20, 123456, tzinfo=UTC)


def test_parse_zone() -> None:
    assert parse_zone("UTC") is UTC
    assert parse_zone("+02:15").utcoffset(None) == timedelta(hours=2, minutes=15)
    with pytest.raises(CefValueError, match="out of range"):
        parse_zone("+25:00")


@pytest.mark.parametrize(
    ("value", "colon", "ecs"),
    [
        ("00:0D:60:AF:1B:61", "00:0d:60:af:1b:61", "00-0D-60-AF-1B-61"),
        ("00-0d-60-af-1b-61", "00:0d:60:af:1b:61", "00-0D-60-AF-1B-61"),
        ("000D.60AF.1B61", "00:0d:60:af:1b:61", "00-0D-60-AF-1B-61"),
        ("000D60AF1B61", "00:0d:60:af:1b:61", "00-0D-60-AF-1B-61"),
        (" 00:0D:60:FF:FE:AF:1B:61 ", "00:0d:60:ff:fe:af:1b:61", "00-0D-60-FF-FE-AF-1B-61"),
        ("000D.60FF.FEAF.1B61", "00:0d:60:ff:fe:af:1b:61", "00-0D-60-FF-FE-AF-1B-61"),
    ],
)
def test_mac(value: str, colon: str, ecs: str) -> None:
    assert to_mac(value) == colon
    assert to_mac(value, ecs=True) == ecs


@pytest.mark.parametrize("value", ["", "00:0D:60:AF:1B", "00:0D:60:AF:1B:6G", "00:0D-60:AF:1B:61", "0D60AF1B61", "000D.60AF1B61"])
def test_bad_mac(value: str) -> None:
    with pytest.raises(CefValueError, match="not a MAC address"):
        to_mac(value)
