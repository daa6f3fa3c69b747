"""Value checks for mapped field types, as Elasticsearch 8 parses them.

Each checker takes one JSON scalar (never a list; objects are handled by the caller) and returns
``None`` when Elasticsearch would accept it, or the ``caused_by`` object of the failure. The
``document_parsing_exception`` around it is built by :mod:`es_mapping`.
"""

from __future__ import annotations

import calendar
import ipaddress
import re
from collections.abc import Callable
from typing import Any

Cause = dict[str, Any] | None
Checker = Callable[[Any], Cause]

_INT_RANGES = {
    "long": (-(2**63), 2**63 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "short": (-(2**15), 2**15 - 1),
    "byte": (-128, 127),
    "unsigned_long": (0, 2**64 - 1),
}
_RANGE_WORD = {"long": "a long", "integer": "an integer", "short": "a short", "byte": "a byte",
               "unsigned_long": "an unsigned long"}
_NUMERIC_STR = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\Z")
_CACHE_MAX = 200_000


def _ia(reason: str) -> dict[str, Any]:
    return {"type": "illegal_argument_exception", "reason": reason}


def _number_format(value: str) -> dict[str, Any]:
    return {"type": "number_format_exception", "reason": f'For input string: "{value}"'}


def _not_numeric(value: bool) -> dict[str, Any]:
    token = "VALUE_TRUE" if value else "VALUE_FALSE"
    return _ia(f"Current token ({token}) not numeric, can not use numeric value accessors")


def integer_checker(kind: str, coerce: bool = True) -> Checker:
    low, high = _INT_RANGES[kind]
    word = _RANGE_WORD[kind]

    def check(value: Any) -> Cause:
        t = type(value)
        if t is int:
            number: float | int = value
            if kind == "long" and not low <= number <= high:
                # A JSON number beyond a long fails in the JSON parser (Jackson), not in the mapper: as on
                # OpenSearch 2.19 / Elasticsearch (both read it with XContentParser.longValue()).
                return {"type": "input_coercion_exception",
                        "reason": f"Numeric value ({value}) out of range of long ({low} - {high})"}
        elif t is bool:
            return _not_numeric(value)
        elif t is float:
            if not coerce and value != int(value):
                return _ia(f"Value [{value}] has a decimal part")
            number = value
        elif t is str and kind == "long":
            # Text for a long goes through Numbers.toLong (Long.parseLong, then BigDecimal), which neither
            # trims blanks nor throws NumberFormatException: an IllegalArgumentException "For input string".
            # As OpenSearch 2.19 / Elasticsearch do (the other integer kinds use Double.parseDouble, which
            # trims and throws NumberFormatException: below).
            if not coerce or not _NUMERIC_STR.match(value):
                return _ia(f'For input string: "{value}"')
            number = float(value) if any(c in value for c in ".eE") else int(value)
        elif t is str:
            text = value.strip()
            if not coerce or not _NUMERIC_STR.match(text):
                return _number_format(value)
            number = float(text) if any(c in text for c in ".eE") else int(text)
        else:
            return _ia(f"unexpected value [{value}]")
        if not low <= number <= high:
            return _ia(f"Value [{value}] is out of range for {word}")
        return None

    return check


def float_checker() -> Checker:
    def check(value: Any) -> Cause:
        t = type(value)
        if t is int or t is float:
            return None
        if t is bool:
            return _not_numeric(value)
        if t is str and _NUMERIC_STR.match(value.strip()):
            return None
        return _number_format(str(value))

    return check


def check_boolean(value: Any) -> Cause:
    if value is True or value is False or value in ("true", "false", ""):
        return None
    t = type(value)
    if t is int or t is float:
        # A JSON number is refused by the JSON parser's getBooleanValue(), before any text check: as on
        # OpenSearch 2.19 / Elasticsearch.
        token = "VALUE_NUMBER_INT" if t is int else "VALUE_NUMBER_FLOAT"
        return {"type": "json_parse_exception", "reason": f"Current token ({token}) not of boolean type"}
    return _ia(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")


_ip_ok: dict[str, bool] = {}


def check_ip(value: Any) -> Cause:
    if type(value) is str:
        ok = _ip_ok.get(value)
        if ok is None:
            try:
                ipaddress.ip_address(value)
                ok = True
            except ValueError:
                ok = False
            if len(_ip_ok) > _CACHE_MAX:
                _ip_ok.clear()
            _ip_ok[value] = ok
        if ok:
            return None
    return _ia(f"'{value}' is not an IP string literal.")


def scalar_text(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


def constant_checker(path: str, expected: str) -> Checker:
    def check(value: Any) -> Cause:
        text = scalar_text(value)
        if text == expected:
            return None
        return _ia(
            f"[constant_keyword] field [{path}] only accepts values that are equal to the value defined in "
            f"the mappings [{expected}], but got [{text}]"
        )

    return check


# -- dates ------------------------------------------------------------------------------------
# The strict year is java.time's appendValue(YEAR, 4, 10, SignStyle.EXCEEDS_PAD) parsed strictly: four
# digits without a sign, more than four only after a '+', a '-' before four or more (OpenSearch 2.19 /
# Elasticsearch accept "+10000-01-01T00:00:00Z" and refuse "10000-…" and "+2024-…").
_STRICT_OPT = re.compile(
    r"(\d{4}|\+\d{5,9}|-\d{4,9})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?\Z"
)
_LENIENT_OPT = re.compile(
    r"([+-]?\d{1,9})(?:-(\d{1,2})(?:-(\d{1,2})(?:T(\d{1,2})(?::(\d{1,2})(?::(\d{1,2})(?:[.,](\d{1,9}))?)?)?"
    r"(Z|[+-]\d{1,2}(?::?\d{2})?)?)?)?)?\Z"
)
_STRICT_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{1,9}(?:Z|[+-]\d{2}:?\d{2})\Z")
_STRICT_DATE_TIME_NO_MILLIS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:?\d{2})\Z")
_EPOCH = re.compile(r"-?\d+(?:\.\d+)?\Z")
_date_ok: dict[tuple[str, str], bool] = {}


def _valid_fields(m: re.Match[str]) -> bool:
    year, month, day, hour, minute, second, _frac, zone = m.groups()
    if year.startswith("-") and int(year) == 0:
        return False  # java.time's strict parse refuses a negative zero ("-0000")
    mo = int(month) if month else 1
    if not 1 <= mo <= 12:
        return False
    if day and not 1 <= int(day) <= calendar.monthrange(int(year), mo)[1]:
        return False
    if hour and int(hour) > 23:
        return False
    if minute and int(minute) > 59:
        return False
    if second and int(second) > 59:
        return False
    return not (zone and zone != "Z" and int(zone[1:3]) > 18)


def _optional_time(strict: bool) -> Callable[[str], bool]:
    rx = _STRICT_OPT if strict else _LENIENT_OPT

    def parse(text: str) -> bool:
        m = rx.match(text)
        return m is not None and _valid_fields(m)

    return parse


_JAVA_TOKENS = {
    "y": r"[+-]?\d{1,9}", "u": r"[+-]?\d{1,9}", "M": r"\d{1,2}", "d": r"\d{1,2}", "H": r"\d{1,2}",
    "h": r"\d{1,2}", "k": r"\d{1,2}", "K": r"\d{1,2}", "m": r"\d{1,2}", "s": r"\d{1,2}", "D": r"\d{1,3}",
    "a": r"[AaPp][Mm]", "E": r"[A-Za-z]+", "X": r"(?:Z|[+-]\d{2}(?::?\d{2})?)",
    "x": r"[+-]\d{2}(?::?\d{2})?", "Z": r"(?:Z|[+-]\d{2}:?\d{2})", "z": r"[A-Za-z_/+\-0-9]+",
    "V": r"[A-Za-z_/+\-0-9]+", "O": r"GMT[+-]?\d{0,2}(?::\d{2})?",
}


def _java_pattern(pattern: str) -> Callable[[str], bool] | None:
    """A regex for a Java ``DateTimeFormatter`` pattern (shape only), None if it uses letters we
    do not know (then every string is accepted rather than inventing a rejection)."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "'":
            end = pattern.find("'", i + 1)
            if end == -1:
                return None
            out.append(re.escape(pattern[i + 1 : end]) if end > i + 1 else "'")
            i = end + 1
            continue
        if c == "[":
            out.append("(?:")
        elif c == "]":
            out.append(")?")
        elif c.isalpha():
            j = i
            while j < len(pattern) and pattern[j] == c:
                j += 1
            width = j - i
            if c == "S":
                out.append(rf"\d{{{width}}}")
            elif width == 2 and c in "yuMdHhkKms":
                out.append(r"\d{2}")
            elif c in "yu" and width == 4:
                out.append(r"\d{4}")
            elif c == "M" and width >= 3:
                out.append(r"[A-Za-z]+")
            elif c in _JAVA_TOKENS:
                out.append(_JAVA_TOKENS[c])
            else:
                return None
            i = j
            continue
        else:
            out.append(re.escape(c))
        i += 1
    rx = re.compile("".join(out) + r"\Z")
    return lambda text: rx.match(text) is not None


_NAMED: dict[str, Callable[[str], bool]] = {
    "strict_date_optional_time": _optional_time(True),
    "strict_date_optional_time_nanos": _optional_time(True),
    "date_optional_time": _optional_time(False),
    "strict_date_time": lambda t: _STRICT_DATE_TIME.match(t) is not None,
    "date_time": lambda t: _STRICT_DATE_TIME.match(t) is not None,
    "strict_date_time_no_millis": lambda t: _STRICT_DATE_TIME_NO_MILLIS.match(t) is not None,
    "date_time_no_millis": lambda t: _STRICT_DATE_TIME_NO_MILLIS.match(t) is not None,
    "strict_date": lambda t: re.fullmatch(r"\d{4}-\d{2}-\d{2}", t) is not None,
    "date": lambda t: re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", t) is not None,
    "basic_date": lambda t: re.fullmatch(r"\d{8}", t) is not None,
    "epoch_millis": lambda t: _EPOCH.match(t) is not None,
    "epoch_second": lambda t: _EPOCH.match(t) is not None,
}
DEFAULT_DATE_FORMAT = "strict_date_optional_time||epoch_millis"


def date_parsers(fmt: str) -> list[Callable[[str], bool]] | None:
    """Parsers for a ``format`` mapping parameter; None if a part is unknown (accept anything)."""
    parsers = []
    for part in fmt.split("||"):
        part = part.strip()
        parser = _NAMED.get(part) or _java_pattern(part)
        if parser is None:
            return None
        parsers.append(parser)
    return parsers


def date_checker(fmt: str | None) -> Checker:
    fmt = fmt or DEFAULT_DATE_FORMAT
    parsers = date_parsers(fmt)
    epoch = any(p.strip().startswith("epoch_") for p in fmt.split("||"))

    def check(value: Any) -> Cause:
        if parsers is None:
            return None
        t = type(value)
        if t is bool:
            text = "true" if value else "false"
        elif t is int or t is float:
            if epoch:
                return None
            text = str(value)
        elif t is str:
            text = value
        else:
            text = str(value)
        key = (fmt, text)
        ok = _date_ok.get(key)
        if ok is None:
            ok = any(p(text) for p in parsers)
            if len(_date_ok) > _CACHE_MAX:
                _date_ok.clear()
            _date_ok[key] = ok
        if ok:
            return None
        return {
            "type": "illegal_argument_exception",
            "reason": f"failed to parse date field [{text}] with format [{fmt}]",
            "caused_by": {"type": "date_time_parse_exception", "reason": "Failed to parse with all enclosed parsers"},
        }

    return check


def matches_date(text: str, formats: list[str]) -> bool:
    """Dynamic date detection (``dynamic_date_formats``)."""
    for fmt in formats:
        parsers = date_parsers(fmt)
        if parsers and any(p(text) for p in parsers if p is not _NAMED["epoch_millis"]):
            return True
    return False


# -- geo_point ----------------------------------------------------------------------------------
_GEOHASH = re.compile(r"[0-9b-hjkmnp-z]{1,12}\Z")
_WKT_POINT = re.compile(r"\s*POINT\s*\(\s*(\S+)\s+(\S+)(?:\s+\S+)?\s*\)\s*\Z", re.I)


def _coord(value: Any) -> float | None:
    if type(value) in (int, float):
        return float(value)
    if type(value) is str and _NUMERIC_STR.match(value.strip()):
        return float(value)
    return None


def geo_point_checker(path: str) -> Checker:
    def latlon(lat: float | None, lon: float | None, raw: Any) -> Cause:
        if lat is None or lon is None:
            return {"type": "parse_exception", "reason": f"failed to parse [{path}]: [{raw}] is not a point"}
        if not -90.0 <= lat <= 90.0:
            return _ia(f"illegal latitude value [{lat}] for {path}")
        if not -180.0 <= lon <= 180.0:
            return _ia(f"illegal longitude value [{lon}] for {path}")
        return None

    def check(value: Any) -> Cause:
        if isinstance(value, dict):
            if value.get("type") in ("Point", "point") and isinstance(value.get("coordinates"), list):
                coords = value["coordinates"]
                return check(coords)
            for key in ("lat", "lon"):
                if key not in value:
                    return {"type": "parse_exception", "reason": f"field [{key}] missing"}
            return latlon(_coord(value["lat"]), _coord(value["lon"]), value)
        if isinstance(value, list):
            if len(value) not in (2, 3):
                return {"type": "parse_exception", "reason": "[geo_point] field type should have at least two dimensions"}
            return latlon(_coord(value[1]), _coord(value[0]), value)
        if isinstance(value, str):
            if "," in value:
                parts = value.split(",")
                if len(parts) not in (2, 3):
                    return _ia(f"failed to parse [{path}], expected 2 or 3 coordinates but found: [{len(parts)}]")
                return latlon(_coord(parts[0]), _coord(parts[1]), value)
            m = _WKT_POINT.match(value)
            if m:
                return latlon(_coord(m.group(2)), _coord(m.group(1)), value)
            if _GEOHASH.match(value):
                return None
            bad = next((c for c in value if not _GEOHASH.match(c)), value[:1])
            return _ia(f"unsupported symbol [{bad}] in geohash [{value}]")
        return {"type": "parse_exception", "reason": f"geo_point expected, found [{value}]"}

    return check


def is_point_array(value: list[Any]) -> bool:
    """``[lon, lat]`` is one point; ``[[lon, lat], ...]`` or ``["lat,lon", ...]`` are several."""
    return 2 <= len(value) <= 3 and all(type(v) in (int, float) for v in value)
