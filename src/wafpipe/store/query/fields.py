"""The allow-list: which field names a query may use, and the SQL each one reads.

Field names are the only part of a query that is not passed as a parameter, so this table is the
security boundary: a name reaches SQL only as the fixed expression stored here, built from our own
field table (:func:`wafpipe.fields.table.emitted_fields`, the same table that generates the
``events`` columns through :data:`wafpipe.fields.arrow.SCHEMA`), never from the user's text. The one
place user text names a path — a key below a JSON-typed field, ``imperva.waf.request_headers.Accept``
— goes in as a ``?`` JSON-path parameter.

Every emitted field, by its ECS dotted path, reads its own typed column of the store (version 2):

* a leaf of the nested STRUCT columns by struct access, ``"source"."geo"."country_iso_code"``.
  DuckDB 2.0.1 turns a comparison on a struct leaf into a table filter of the scan (``EXPLAIN``:
  ``Filters: source.geo.country_iso_code = 'US'``), reading that leaf only and skipping row groups
  by its min/max statistics; ``struct_extract(struct_extract(source, 'geo'), 'country_iso_code')``
  gets the very same plan and time, so the shorter dotted form is used. Measured on 250 000
  generated events (2 cores): ``source.ip = ?`` 2.6 ms, ``url.path = ?`` 2.0 ms,
  ``http.response.status_code >= ?`` 2.0 ms, a value outside every row group's range 0.8 ms —
  against 4.6 s for one term over version 1's JSON text;
* ``event.original`` reads ``event_original``, its own zstd column (see :mod:`wafpipe.store.schema`);
* list fields (``related.ip``, ``event.category``…) are ``VARCHAR[]`` columns: a predicate holds when
  any element matches, as in Elasticsearch (:attr:`FieldRef.is_list`);
* JSON-typed fields (Elasticsearch ``flattened``: headers, rule info, labels…) are DuckDB ``JSON``
  columns: ``field:value`` matches any value inside (``json_extract_string(col, '$.**')``),
  ``field:*`` is ``IS NOT NULL``, and a key below them reads ``json_extract_string(col, ?)`` with
  the key path as a parameter;
* ``event.dataset`` is decided at compile time: every document in this store is ``imperva.waf``,
  so the usual Kibana filter ``event.dataset:"imperva.waf"`` compiles to ``TRUE``.

The short names version 1 had as columns (``status``, ``site``, ``country``, ``attack_type``…) are
kept as aliases of their ECS fields (:data:`ALIASES`): one dictionary entry each, and saved
queries and scripts keep working. ECS names are the public names.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from functools import cache

import pyarrow as pa

from wafpipe.fields import DATASET
from wafpipe.fields.arrow import ID, SCHEMA, list_fields
from wafpipe.fields.table import emitted_fields
from wafpipe.store.schema import ORIGINAL, quote

# Elasticsearch mapping type → how a query compares values.
_TYPES = {
    "keyword": "keyword",
    "constant_keyword": "keyword",
    "wildcard": "keyword",
    "binary": "keyword",
    "match_only_text": "text",
    "text": "text",
    "long": "long",
    "double": "double",
    "boolean": "boolean",
    "date": "date",
    "ip": "ip",
    "flattened": "flattened",
    "geo_point": "geo_point",
}

CONSTANTS = {"event.dataset": DATASET}

# Version 1's typed columns, by their short names: kept as aliases (see the module docstring).
ALIASES = {
    "id": ID,
    "ts": "@timestamp",
    "site": "imperva.waf.site.name",
    "site_id": "imperva.waf.site.id",
    "account_id": "imperva.waf.account.id",
    "source_ip": "source.ip",
    "country": "source.geo.country_iso_code",
    "action": "imperva.waf.action",
    "action_class": "imperva.waf.action_class",
    "outcome": "event.outcome",
    "kind": "event.kind",
    "attack_type": "rule.category",
    "status": "http.response.status_code",
    "method": "http.request.method",
    "host": "url.domain",
    "path": "url.path",
    "rule": "rule.name",
    "security_event": "imperva.waf.security_event",
    "user_agent": "user_agent.original",
}

_USER_SEGMENT = re.compile(r"^[A-Za-z0-9_@$\-]+$")


@dataclass(frozen=True, slots=True)
class FieldRef:
    """One queryable field.

    ``sql`` is trusted text, the operand a predicate compares (the typed column; for a JSON field
    the list of every value inside it); ``params`` fill its ``?`` in order (only a key below a JSON
    field has any). ``column`` is the stored column as it is, for projections and ``top``; None
    when there is no column of its own (a key below a JSON field). ``json`` says the column holds
    JSON text."""

    name: str
    type: str  # keyword | text | long | double | boolean | date | ip | flattened | geo_point | constant
    sql: str
    is_list: bool = False
    params: tuple[str, ...] = ()
    constant: str | None = None
    column: str | None = None
    json: bool = False


def column_sql(path: str) -> str:
    """The SQL of a stored column by its ECS path: struct access into the nested columns."""
    if path == "event.original":
        return quote(ORIGINAL)
    return ".".join(quote(part) for part in path.split("."))


def arrow_type(path: str) -> pa.DataType:
    """The column's type in the Batch schema (a missing path is a field-table bug: fail loudly)."""
    first, *rest = path.split(".")
    typ = SCHEMA.field(first).type
    for part in rest:
        typ = typ.field(part).type
    return typ


def _values_of_json(col: str) -> str:
    """Every value inside a JSON column (and its own text): ``field:value`` matches a leaf."""
    return f"list_concat(json_extract_string({col}, '$.**'), [json_extract_string({col}, '$')])"


def _ref(name: str, es_type: str, lists: frozenset[str]) -> FieldRef:
    col = column_sql(name)
    arrow_type(name)  # the column exists
    if name in CONSTANTS:
        return FieldRef(name, "constant", "TRUE", constant=CONSTANTS[name], column=col)
    typ = _TYPES.get(es_type, "keyword")
    if typ == "flattened":
        return FieldRef(name, typ, _values_of_json(col), is_list=True, column=col, json=True)
    return FieldRef(name, typ, col, is_list=name in lists, column=col)


@cache
def allowed_fields() -> dict[str, FieldRef]:
    """Name → :class:`FieldRef` for every field a query may name (built once): the emitted fields,
    ``_id``, the geo point's ``lat``/``lon`` (numbers, so a bounding box is two ranges) and the
    short aliases."""
    lists = list_fields()
    out: dict[str, FieldRef] = {ID: FieldRef(ID, "keyword", quote(ID), column=quote(ID))}
    for name, es_type in sorted(emitted_fields().items()):
        out[name] = _ref(name, es_type, lists)
        if es_type == "geo_point":
            for part in ("lat", "lon"):
                out[f"{name}.{part}"] = _ref(f"{name}.{part}", "double", lists)
    for alias, name in ALIASES.items():
        out.setdefault(alias, out[name])
    return out


def public_names() -> list[str]:
    """The ECS names (what ``--help``, suggestions and docs show first)."""
    return sorted(n for n, ref in allowed_fields().items() if ref.name == n)


@cache
def _json_bases() -> tuple[str, ...]:
    return tuple(sorted((n for n, r in allowed_fields().items() if r.json), key=len, reverse=True))


def resolve(name: str) -> FieldRef | None:
    """The field for ``name``, including keys below a JSON field; None when not allowed."""
    ref = allowed_fields().get(name)
    if ref is not None:
        return ref
    for base in _json_bases():
        if name.startswith(base + "."):
            segs = name[len(base) + 1 :].split(".")
            if not all(_USER_SEGMENT.match(s) for s in segs):
                return None
            col = allowed_fields()[base].column
            sub = ".".join(f'"{s}"' for s in segs)
            # objects ({"configid": …}) and arrays of objects ([{"Accept": …}, …]) alike
            sql = f"list_concat(json_extract_string({col}, ?), [json_extract_string({col}, ?)])"
            return replace(
                allowed_fields()[base], name=name, type="keyword", sql=sql, params=(f"$[*].{sub}", f"$.{sub}"),
                column=None, json=False,
            )
    return None


def suggest(name: str, limit: int = 5) -> list[str]:
    """Allowed names close to ``name`` (typos, wrong case, a missing prefix), ECS names first."""
    names = public_names() + sorted(ALIASES)
    low = name.lower()
    out = [n for n in names if n.lower() == low]
    if name in ALIASES:
        out.append(ALIASES[name])
    last = low.rsplit(".", 1)[-1]
    out += difflib.get_close_matches(name, names, n=limit, cutoff=0.6)
    if len(last) >= 3:
        out += [n for n in names if n.lower().rsplit(".", 1)[-1] == last]
        out += [n for n in names if last in n.lower().rsplit(".", 1)[-1]]
    return list(dict.fromkeys(out))[:limit]
