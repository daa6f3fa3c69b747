"""Value converters used by the field table. Each returns the converted value, or raises
``ValueError`` so the mapper can keep the raw text under ``imperva.waf.invalid`` and warn."""

from __future__ import annotations

import ipaddress
import re
import time

import orjson

_SEC_CACHE: dict[int, str] = {}
_IP_CACHE: dict[str, str | None] = {}
_XFF_SPLIT = re.compile(r"\s*,\s*")


def iso_ms(ms: int) -> str:
    """Epoch milliseconds → ``2016-01-20T11:42:01.336Z`` (cached per second: times cluster)."""
    sec, frac = divmod(ms, 1000)
    prefix = _SEC_CACHE.get(sec)
    if prefix is None:
        if len(_SEC_CACHE) > 20_000:
            _SEC_CACHE.clear()
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
        _SEC_CACHE[sec] = prefix
    return f"{prefix}.{frac:03d}Z"


def to_date(value: str) -> str:
    v = value.strip()
    if not v.isdigit():
        raise ValueError(f"{value!r} is not epoch milliseconds")
    ms = int(v)
    if len(v) <= 10:  # seconds, seen in some third-party copies
        ms *= 1000
    if ms > 253402300799999:
        raise ValueError(f"{value!r} is past year 9999")
    return iso_ms(ms)


def to_long(value: str) -> int:
    return int(value.strip())


def to_double(value: str) -> float:
    f = float(value.strip())
    if f != f or f in (float("inf"), float("-inf")):
        raise ValueError(f"{value!r} is not a finite number")
    return f


def to_bool(value: str) -> bool:
    v = value.strip().lower()
    if v == "true":
        return True
    if v == "false":
        return False
    raise ValueError(f"{value!r} is not true/false")


def to_ip(value: str) -> str:
    """Validated, canonical text of an IPv4/IPv6 address (cached: addresses repeat)."""
    hit = _IP_CACHE.get(value, "")
    if hit == "":
        try:
            hit = str(ipaddress.ip_address(value.strip().strip("[]")))
        except ValueError:
            hit = None
        if len(_IP_CACHE) > 50_000:
            _IP_CACHE.clear()
        _IP_CACHE[value] = hit
    if hit is None:
        raise ValueError(f"{value!r} is not an IP address")
    return hit


def to_keyword(value: str) -> str:
    return value


def to_keyword_list(value: str) -> list[str]:
    """Comma lists with trailing commas and brackets (``30037,1001,``, ``[US]``); empties dropped."""
    v = value.strip()
    if v.startswith("[") and v.endswith("]"):
        v = v[1:-1]
    return [p for p in (s.strip() for s in v.split(",")) if p]


def split_ips(value: str) -> tuple[list[str], list[str]]:
    """XFF chains: split on ``,`` plus optional space, order kept → (valid addresses, the rest)."""
    good: list[str] = []
    bad: list[str] = []
    for member in _XFF_SPLIT.split(value.strip()):
        if not member:
            continue
        try:
            good.append(to_ip(member))
        except ValueError:
            bad.append(member)
    return good, bad


def to_ip_list(value: str) -> list[str]:
    """Every member must be an address (the mapper uses :func:`split_ips` to keep the good ones)."""
    good, bad = split_ips(value)
    if bad:
        raise ValueError(f"not IP addresses: {', '.join(bad)}")
    return good


def _objects(parsed: object) -> object:
    """These fields are indexed as ``flattened`` (objects only): a bare value or a list holding
    non-objects is wrapped as ``{"value": …}`` so it is stored rather than rejected."""
    if isinstance(parsed, dict):
        return parsed
    if isinstance(parsed, list) and all(isinstance(x, dict) for x in parsed):
        return parsed
    return {"value": parsed}


def to_json(value: str) -> object:
    """JSON text as Imperva writes it: leading commas (``,,[…]``) and doubled quotes tolerated."""
    v = value.strip().lstrip(",").strip()
    if not v:
        raise ValueError("empty JSON value")
    try:
        return _objects(orjson.loads(v))
    except orjson.JSONDecodeError:
        pass
    if '""' in v:
        try:
            return _objects(orjson.loads(v.replace('""', '"')))
        except orjson.JSONDecodeError:
            pass
    raise ValueError("not valid JSON (kept as text)")


CONVERTERS = {
    "keyword": to_keyword,
    "text": to_keyword,
    "long": to_long,
    "double": to_double,
    "boolean": to_bool,
    "date": to_date,
    "ip": to_ip,
    "keyword_list": to_keyword_list,
    "ip_list": to_ip_list,
    "json": to_json,
}
