"""AST → a parameterised DuckDB ``WHERE`` clause over the ``events`` table.

Safety. Every value the user typed becomes a ``?`` parameter; a field name becomes SQL only as the
fixed expression :mod:`wafpipe.store.query.fields` holds for it, so no user text is ever spliced into
the statement (a name like ``x'); DROP TABLE events;--`` is simply an unknown field).

Semantics follow Kibana's KQL over Elasticsearch mappings, as far as SQL allows:

* keyword fields match exactly (case-sensitive, as a ``keyword``); an unquoted value with ``*``/``?``
  is a wildcard pattern, matched case-insensitively (``ILIKE``), which is what people mean by
  ``user_agent.original:*sqlmap*``;
* text fields (``message``, ``http.request.body.content``) and free text (a value without a field,
  searched in the whole document) match case-insensitively as "contains";
* numbers, booleans, dates and IP addresses are typed: ``status >= 400``, ``security_event:true``,
  ``@timestamp >= "2024-06-10T00:00:00Z"`` (also ``now-15m``; a bare date ``2024-06-10`` means the
  whole UTC day), ``source.ip:"10.0.0.0/8"`` (IPv4 CIDR);
* an array field matches when any element does (``related.ip:1.2.3.4``);
* ``not`` includes documents that lack the field, as in KQL: a predicate on a missing value is
  false, never SQL's unknown, so ``not status:200`` keeps events without a status.

Cost. Fields with a typed column use its zonemaps (10 M rows, 2 cores: ``status >= 500`` 0.04 s,
an hour of ``@timestamp`` < 0.01 s, an IPv4 CIDR 0.2 s). Other fields and free text read ``doc``
for every row (16 s and 21 s on the same store); free text also matches the JSON's key names.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from wafpipe.clock import utcnow
from wafpipe.errors import QueryError
from wafpipe.store.query.fields import FieldRef, resolve, suggest
from wafpipe.store.query.parser import All, And, Compare, Exists, Match, Node, Not, Or, Range, Value, parse

Frag = tuple[str, list[Any]]

_ESCAPE = " ESCAPE '\\'"
_CASTS = {"long": "BIGINT", "double": "DOUBLE", "boolean": "BOOLEAN", "date": "TIMESTAMP"}
_OPS = {"<", "<=", ">", ">="}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NOW = re.compile(r"^now(?:([+-])(\d{1,9})([smhdw]))?$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_LONG_MAX = 2**63 - 1


def compile_query(expr: str) -> tuple[str, list[Any]]:
    """``expr`` → (``where_sql``, ``params``) for ``SELECT … FROM events WHERE {where_sql}``.

    Raises :class:`~wafpipe.errors.QueryError` (with the 1-based ``column``) for a syntax error,
    an unknown field or a value of the wrong type; nothing else.
    """
    sql, params = _node(parse(expr))
    return sql, params


def _err(msg: str, col: int, hint: str | None = None) -> QueryError:
    return QueryError(f"{msg} at column {col}", column=col, hint=hint)


def _node(n: Node) -> Frag:
    if isinstance(n, All):
        return "TRUE", []
    if isinstance(n, And | Or):
        parts = [_node(i) for i in n.items]
        joiner = " AND " if isinstance(n, And) else " OR "
        return "(" + joiner.join(p[0] for p in parts) + ")", [x for p in parts for x in p[1]]
    if isinstance(n, Not):
        sql, params = _node(n.item)
        return f"(NOT coalesce({sql}, FALSE))", params
    if isinstance(n, Match) and n.field is None:
        if n.value.is_star:
            return "TRUE", []
        return "(CAST(doc AS VARCHAR) ILIKE ?" + _ESCAPE + ")", [like_pattern(n.value, contains=True)]
    assert isinstance(n, Match | Exists | Compare | Range)
    assert n.field is not None
    ref = _resolve(n.field, n.col)
    if ref.type == "constant":
        return _constant(ref, n)
    if isinstance(n, Exists):
        return _on(ref, lambda x: (f"{x} IS NOT NULL", []))
    if isinstance(n, Match):
        return _match(ref, n.value)
    if isinstance(n, Compare):
        return _on(ref, lambda x: _compare(ref, x, n.op, n.value))
    if n.lo is None and n.hi is None:
        return _on(ref, lambda x: (f"{x} IS NOT NULL", []))
    lo, hi = n.lo, n.hi

    def both(x: str) -> Frag:
        parts = []
        if lo is not None:
            parts.append(_compare(ref, x, ">=" if n.lo_incl else ">", lo))
        if hi is not None:
            parts.append(_compare(ref, x, "<=" if n.hi_incl else "<", hi))
        return "(" + " AND ".join(p[0] for p in parts) + ")", [v for p in parts for v in p[1]]

    return _on(ref, both)


def _resolve(name: str, col: int) -> FieldRef:
    ref = resolve(name)
    if ref is None:
        close = suggest(name)
        did = f"; did you mean {', '.join(close)}?" if close else ""
        raise QueryError(
            f"unknown field {name!r} at column {col}{did}",
            column=col,
            hint="fields are ECS names (http.response.status_code, source.ip, rule.category, …) "
            "or the short column names (status, site, country, attack_type, …)",
        )
    return ref


def _on(ref: FieldRef, build: Callable[[str], Frag]) -> Frag:
    """Apply ``build`` (a predicate over one typed value) to the field; any element of a list."""
    if ref.is_list:
        body, params = build(_typed("el", ref.type))
        return f"(len(list_filter({ref.sql}, lambda el: {body})) > 0)", [*ref.params, *params]
    body, params = build(ref.sql if ref.column else _typed(ref.sql, ref.type))
    return f"({body})", params


def _typed(expr: str, typ: str) -> str:
    cast = _CASTS.get(typ)
    return f"TRY_CAST({expr} AS {cast})" if cast else expr


def like_pattern(v: Value, *, contains: bool = False) -> str:
    """The ILIKE pattern (escape ``\\``) for a value: its wildcards become ``%``/``_``."""
    wild = set(v.wild)
    out = []
    for i, ch in enumerate(v.text):
        if i in wild:
            out.append("%" if ch == "*" else "_")
        elif ch in "%_\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    pat = "".join(out)
    return f"%{pat}%" if contains else pat


# -- field:value -------------------------------------------------------------------------------
def _match(ref: FieldRef, v: Value) -> Frag:
    typ = ref.type
    if typ == "geo_point":
        raise _err(f"{ref.name} is a geo point; only {ref.name}:* (exists) is supported", v.col)
    if v.is_wildcard:
        if typ in ("boolean", "date"):
            raise _err(f"wildcards do not apply to {typ} field {ref.name}", v.col, _hint(typ))
        pattern = like_pattern(v, contains=typ == "text")
        if typ in ("long", "double"):
            return _on(ref, lambda x: (f"CAST({x} AS VARCHAR) ILIKE ?" + _ESCAPE, [pattern]))
        return _on(ref, lambda x: (f"{x} ILIKE ?" + _ESCAPE, [pattern]))
    if typ == "text":
        return _on(ref, lambda x: (f"{x} ILIKE ?" + _ESCAPE, [like_pattern(v, contains=True)]))
    if typ == "ip" and "/" in v.text:
        return _on(ref, _cidr(ref, v))
    if typ == "date":
        when, day = _date(ref, v)
        if day:
            return _on(ref, lambda x: (f"{x} >= ? AND {x} < ?", [when, when + timedelta(days=1)]))
        return _on(ref, lambda x: (f"{x} = ?", [when]))
    value = _scalar(ref, v)
    return _on(ref, lambda x: (f"{x} = ?", [value]))


def _compare(ref: FieldRef, x: str, op: str, v: Value) -> Frag:
    assert op in _OPS
    typ = ref.type
    if typ in ("boolean", "ip", "geo_point"):
        hint = 'use CIDR notation: source.ip:"10.0.0.0/8"' if typ == "ip" else None
        raise _err(f"ranges do not apply to {typ} field {ref.name}", v.col, hint)
    if v.is_wildcard:
        raise _err("a range bound cannot hold wildcards", v.col, _hint(typ))
    value = _date(ref, v)[0] if typ == "date" else _scalar(ref, v)
    return f"{x} {op} ?", [value]


def _constant(ref: FieldRef, n: Node) -> Frag:
    """``event.dataset`` is the same in every document: decide here, emit TRUE or FALSE."""
    const = ref.constant or ""
    if isinstance(n, Exists):
        ok = True
    elif isinstance(n, Match):
        ok = re.fullmatch(_regex(n.value), const) is not None
    elif isinstance(n, Compare):
        ok = _cmp(const, n.op, n.value.text)
    else:
        assert isinstance(n, Range)
        ok = (n.lo is None or _cmp(const, ">=" if n.lo_incl else ">", n.lo.text)) and (
            n.hi is None or _cmp(const, "<=" if n.hi_incl else "<", n.hi.text)
        )
    return ("TRUE" if ok else "FALSE"), []


def _cmp(a: str, op: str, b: str) -> bool:
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _regex(v: Value) -> str:
    wild = set(v.wild)
    return "".join(
        (".*" if ch == "*" else ".") if i in wild else re.escape(ch) for i, ch in enumerate(v.text)
    )


# -- typed values ------------------------------------------------------------------------------
def _hint(typ: str) -> str | None:
    return {
        "date": 'use a range: @timestamp >= "2024-06-10T00:00:00Z" and @timestamp < now',
        "boolean": "use true or false",
    }.get(typ)


def _scalar(ref: FieldRef, v: Value) -> Any:
    typ, text = ref.type, v.text.strip()
    if typ == "long":
        try:
            num: int | float = int(text)
        except ValueError:
            num = _float(ref, v)
        if isinstance(num, int) and not -_LONG_MAX - 1 <= num <= _LONG_MAX:
            raise _err(f"{ref.name} expects a 64-bit integer, got {v.text!r}", v.col)
        return num
    if typ == "double":
        return _float(ref, v)
    if typ == "boolean":
        low = text.lower()
        if low not in ("true", "false"):
            raise _err(f"{ref.name} expects true or false, got {v.text!r}", v.col)
        return low == "true"
    if typ == "ip":
        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            raise _err(
                f"{ref.name} expects an IP address, got {v.text!r}",
                v.col,
                'use CIDR ("10.0.0.0/8") or a wildcard (10.0.*) for several addresses',
            ) from None
    return v.text


def _float(ref: FieldRef, v: Value) -> float:
    try:
        return float(v.text)
    except ValueError:
        raise _err(f"{ref.name} expects a number, got {v.text!r}", v.col) from None


def _date(ref: FieldRef, v: Value) -> tuple[datetime, bool]:
    """(UTC time without zone, whether the value named a whole day)."""
    text = v.text.strip()
    try:
        m = _NOW.match(text)
        if m:
            now = utcnow().replace(tzinfo=None, microsecond=0)
            if m.group(1):
                delta = timedelta(**{_UNITS[m.group(3)]: int(m.group(2))})
                now = now + delta if m.group(1) == "+" else now - delta
            return now, False
        if _DAY.match(text):
            return datetime.fromisoformat(text), True
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        if dt.tzinfo is not None:
            dt = dt.astimezone(UTC).replace(tzinfo=None)
        return dt, False
    except (ValueError, OverflowError):
        raise _err(
            f"{ref.name} expects a time, got {v.text!r}",
            v.col,
            'write ISO 8601 in quotes ("2024-06-10T06:00:00Z", "2024-06-10") or now, now-15m, now-1d',
        ) from None


def _cidr(ref: FieldRef, v: Value) -> Callable[[str], Frag]:
    try:
        net = ipaddress.ip_network(v.text.strip(), strict=False)
    except ValueError:
        raise _err(f"{ref.name}: {v.text!r} is not a CIDR range", v.col, 'e.g. "10.0.0.0/8"') from None
    if net.version == 6:
        raise _err(
            "IPv6 CIDR ranges are not supported",
            v.col,
            r"use a wildcard on the text form, e.g. source.ip:2001\:db8\:*",
        )
    lo, hi = int(net.network_address), int(net.broadcast_address)
    # The whole octets the prefix fixes make a cheap text pre-filter ("10.0.0.0/8" → "10."), so
    # the arithmetic runs only on candidates: 4x faster on a 10 M-row scan.
    fixed = net.prefixlen // 8
    head = ".".join(str(net.network_address).split(".")[:fixed]) + ("." if 0 < fixed < 4 else "")

    def build(x: str) -> Frag:
        octets = " + ".join(
            f"TRY_CAST(split_part({x}, '.', {i + 1}) AS BIGINT) * {256 ** (3 - i)}" for i in range(4)
        )
        return f"(starts_with({x}, ?) AND {x} NOT LIKE '%:%' AND ({octets}) BETWEEN ? AND ?)", [head, lo, hi]

    return build
