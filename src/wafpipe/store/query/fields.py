"""The allow-list: which field names a query may use, and the SQL each one reads.

Field names are the only part of a query that is not passed as a parameter, so this table is the
security boundary: a name reaches SQL only as the fixed expression stored here, built from our own
code (:data:`wafpipe.store.schema.COLUMNS` and :func:`wafpipe.fields.table.emitted_fields`), never
from the user's text. The one place user text names a path — a key below a ``flattened`` object,
``imperva.waf.request_headers.Accept`` — goes in as a ``?`` JSON-path parameter.

Three kinds of field:

* a typed column of ``events`` by its ECS name (``http.response.status_code`` → ``status``) or by
  the column's own short name (``status``): fast, uses zonemaps;
* any other emitted field, read from ``doc`` with ``json_extract_string(doc, '$.path')`` (arrays
  with ``'$.path[*]'``, so ``related.ip:1.2.3.4`` matches any element, as in Elasticsearch);
* ``event.dataset``: a constant (every document in this store is ``imperva.waf``), so the usual
  Kibana filter ``event.dataset:"imperva.waf"`` costs nothing.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache

from wafpipe.fields import DATASET
from wafpipe.fields.arrow import list_fields
from wafpipe.fields.table import emitted_fields
from wafpipe.store.schema import COLUMNS

# Elasticsearch mapping type → how a query compares values.
_TYPES = {
    "keyword": "keyword",
    "constant_keyword": "keyword",
    "wildcard": "keyword",
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

_OWN_SEGMENT = re.compile(r"^[A-Za-z0-9_@]+$")
_USER_SEGMENT = re.compile(r"^[A-Za-z0-9_@$\-]+$")


@dataclass(frozen=True, slots=True)
class FieldRef:
    """One queryable field. ``sql`` is trusted text; ``params`` fill its ``?`` in order."""

    name: str
    type: str  # keyword | text | long | double | boolean | date | ip | flattened | geo_point | constant
    sql: str  # typed column, VARCHAR json_extract_string(...), or VARCHAR[] when is_list
    is_list: bool = False
    column: str | None = None  # the typed column, when there is one
    params: tuple[str, ...] = ()
    constant: str | None = None


def _json_path(path: str) -> str:
    segs = path.split(".")
    for s in segs:
        if not _OWN_SEGMENT.match(s):  # our own table; a failure here is a programming error
            raise ValueError(f"field path {path!r} has an unsafe segment {s!r}")
    return "$." + ".".join(f'"{s}"' for s in segs)


def _flattened_sql(path: str) -> str:
    """Every value inside a flattened object (and the object's own text): leaf equality works."""
    p = _json_path(path)
    return f"list_concat(json_extract_string(doc, '{p}.**'), [json_extract_string(doc, '{p}')])"


@cache
def allowed_fields() -> dict[str, FieldRef]:
    """Name → :class:`FieldRef` for every field a query may name (built once)."""
    out: dict[str, FieldRef] = {}
    for c in COLUMNS:
        ref = FieldRef(c.field, c.kind, f'"{c.name}"', column=c.name)
        out[c.field] = ref
        out.setdefault(c.name, FieldRef(c.name, c.kind, ref.sql, column=c.name))
    lists = list_fields()
    for name, es_type in emitted_fields().items():
        if name in out:
            continue
        if name in CONSTANTS:
            out[name] = FieldRef(name, "constant", "TRUE", constant=CONSTANTS[name])
            continue
        typ = _TYPES.get(es_type, "keyword")
        if typ == "flattened":
            out[name] = FieldRef(name, typ, _flattened_sql(name), is_list=True)
        elif name in lists:
            out[name] = FieldRef(
                name, typ, f"json_extract_string(doc, '{_json_path(name)}[*]')", is_list=True
            )
        else:
            out[name] = FieldRef(name, typ, f"json_extract_string(doc, '{_json_path(name)}')")
    return out


def _flattened_bases() -> list[str]:
    return sorted((n for n, r in allowed_fields().items() if r.type == "flattened"), key=len, reverse=True)


def resolve(name: str) -> FieldRef | None:
    """The field for ``name``, including keys below a flattened field; None when not allowed."""
    ref = allowed_fields().get(name)
    if ref is not None:
        return ref
    for base in _flattened_bases():
        if name.startswith(base + "."):
            segs = name[len(base) + 1 :].split(".")
            if not all(_USER_SEGMENT.match(s) for s in segs):
                return None
            sub = ".".join(f'"{s}"' for s in segs)
            root = _json_path(base)
            # objects ({"configid": …}) and arrays of objects ([{"Accept": …}, …]) alike
            sql = "list_concat(json_extract_string(doc, ?), [json_extract_string(doc, ?)])"
            return FieldRef(name, "keyword", sql, is_list=True, params=(f"{root}[*].{sub}", f"{root}.{sub}"))
    return None


def suggest(name: str, limit: int = 5) -> list[str]:
    """Allowed names close to ``name`` (typos, wrong case, a missing prefix)."""
    names = list(allowed_fields())
    low = name.lower()
    out = [n for n in names if n.lower() == low]
    last = low.rsplit(".", 1)[-1]
    out += difflib.get_close_matches(name, names, n=limit, cutoff=0.6)
    if len(last) >= 3:
        out += [n for n in names if n.lower().rsplit(".", 1)[-1] == last]
        out += [n for n in names if last in n.lower().rsplit(".", 1)[-1]]
    return list(dict.fromkeys(out))[:limit]


@cache
def _columns_by_name() -> dict[str, str]:
    return {c.name: c.field for c in COLUMNS}


def document_path(name: str) -> str | None:
    """Where an allowed field's value sits in the stored document, as a JSON path for
    ``json_extract(doc, ?)`` (a parameter: a projection, like a filter, never splices a name into
    SQL); ``"$id"`` for the event id, which is a column, not part of the document; None when the
    name is not on the allow-list. A short column name (``status``) and a vendor alias of a column
    read the column's ECS field, which every document carries."""
    ref = allowed_fields().get(name)
    if ref is None:
        return None
    field = _columns_by_name()[ref.column] if ref.column else ref.name
    if field == "_id":
        return "$id"
    return _json_path(field)
