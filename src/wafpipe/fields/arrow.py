"""The Arrow schema of a Batch, generated from the field table, and the Python way to fill it.

Every field the mapping can emit becomes a column of its ECS dotted path, nested as structs
(``source`` → ``geo`` → ``country_iso_code``), typed from the field table: dates as UTC
timestamps with milliseconds, integers as int64, booleans, doubles, lists as lists, the geo point as
a ``{lat, lon}`` struct; ``_id`` comes first. JSON-typed fields (``flattened`` in Elasticsearch:
headers, rule info, labels…) have no fixed shape, so they are not columns: they travel in the
documents and in ``event.original``.

:func:`record_batch` fills the schema from the decode worker's JSON documents with Arrow's own
JSON reader (C++, no per-field Python), which the native core replaces by building the columns
directly.
"""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from wafpipe.fields.table import DERIVED_LISTS, FIELDS, LIST_TYPES, emitted_fields

ID = "_id"

_SCALARS: dict[str, pa.DataType] = {
    "keyword": pa.string(),
    "constant_keyword": pa.string(),
    "match_only_text": pa.string(),
    "wildcard": pa.string(),
    "ip": pa.string(),
    "binary": pa.string(),  # base64 text
    "long": pa.int64(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.timestamp("ms", "UTC"),
    "geo_point": pa.struct([("lat", pa.float64()), ("lon", pa.float64())]),
}


def list_fields() -> frozenset[str]:
    """Paths of the fields that hold arrays."""
    return frozenset({f.path for f in FIELDS if f.type in LIST_TYPES} | DERIVED_LISTS)


def _build_schema() -> pa.Schema:
    tree: dict[str, Any] = {}
    lists = list_fields()
    for path, es_type in sorted(emitted_fields().items()):
        if es_type == "flattened":
            continue
        arrow_type = _SCALARS[es_type]
        if path in lists:
            arrow_type = pa.list_(arrow_type)
        node = tree
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = arrow_type

    def struct(node: dict[str, Any]) -> list[pa.Field]:
        return [pa.field(k, pa.struct(struct(v)) if isinstance(v, dict) else v) for k, v in node.items()]

    return pa.schema([pa.field(ID, pa.string(), nullable=False), *struct(tree)])


SCHEMA: pa.Schema = _build_schema()
_DOCUMENT_SCHEMA = pa.schema(list(SCHEMA)[1:])
_PARSE = pa_json.ParseOptions(explicit_schema=_DOCUMENT_SCHEMA, unexpected_field_behavior="ignore")
_READ = pa_json.ReadOptions(use_threads=False, block_size=1 << 26)


def column(batch: pa.RecordBatch, path: str) -> pa.Array:
    """The column at an ECS dotted path (``"source.geo.country_iso_code"``); null where any parent
    struct is null (``StructArray.field`` alone would expose the child's placeholder values)."""
    first, *rest = path.split(".")
    array = batch.column(first)
    return pc.struct_field(array, rest) if rest else array


def record_batch(ids: list[str], documents: list[bytes]) -> pa.RecordBatch:
    """The typed columns of ``documents`` (JSON objects, same order as ``ids``).

    A document whose values do not fit the schema would make Arrow refuse the whole block; then
    each document is read alone and one that still does not fit keeps only its id (its full
    document still travels in the batch's documents). The mapping types every value, so this is
    a guard against a field-table bug, not a path real data takes.
    """
    if not documents:
        return pa.RecordBatch.from_pylist([], schema=SCHEMA)
    try:
        table = pa_json.read_json(io.BytesIO(b"\n".join(documents)), read_options=_READ, parse_options=_PARSE)
    except pa.ArrowInvalid:
        table = pa.concat_tables([_one(doc) for doc in documents])
    table = table.select([f.name for f in _DOCUMENT_SCHEMA]).cast(_DOCUMENT_SCHEMA)
    arrays = [pa.array(ids, pa.string()), *(c.combine_chunks() for c in table.columns)]
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


def _one(document: bytes) -> pa.Table:
    try:
        return pa_json.read_json(io.BytesIO(document), read_options=_READ, parse_options=_PARSE)
    except pa.ArrowInvalid:
        return pa.Table.from_pylist([{}], schema=_DOCUMENT_SCHEMA)
