"""The Arrow schema of a Batch, generated from the field table, and the Python way to fill it.

Every field the mapping can emit becomes a column of its ECS dotted path, nested as structs
(``source`` → ``geo`` → ``country_iso_code``), typed from the field table: dates as UTC
timestamps with milliseconds, integers as int64, booleans, doubles, lists as lists, the geo point as
a ``{lat, lon}`` struct; ``_id`` comes first. JSON-typed fields (``flattened`` in Elasticsearch:
headers, rule info, labels…) have no fixed shape: their column holds each value's JSON text, typed as
Arrow's canonical JSON extension (``pa.json_()``), which DuckDB stores as its ``JSON`` type.

:func:`record_batch` fills the schema from the decode worker's JSON documents with Arrow's own
JSON reader (C++, no per-field Python), which the native core replaces by building the columns
directly.
"""

from __future__ import annotations

import io
from typing import Any

import orjson
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
    "flattened": pa.json_(pa.string()),
}


def list_fields() -> frozenset[str]:
    """Paths of the fields that hold arrays."""
    return frozenset({f.path for f in FIELDS if f.type in LIST_TYPES} | DERIVED_LISTS)


def _build_schema() -> pa.Schema:
    tree: dict[str, Any] = {}
    lists = list_fields()
    for path, es_type in sorted(emitted_fields().items()):
        arrow_type = _SCALARS[es_type]
        if path in lists:
            arrow_type = pa.list_(arrow_type)
        node = tree
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = arrow_type

    def leaf(name: str, arrow_type: pa.DataType) -> pa.Field:
        # pyarrow keeps an (empty) metadata map on an extension field imported from the core, after
        # it takes the extension's own keys out; the same here, so the two schemas compare equal
        metadata = {} if isinstance(arrow_type, pa.BaseExtensionType) else None
        return pa.field(name, arrow_type, metadata=metadata)

    def struct(node: dict[str, Any]) -> list[pa.Field]:
        return [pa.field(k, pa.struct(struct(v))) if isinstance(v, dict) else leaf(k, v) for k, v in node.items()]

    return pa.schema([pa.field(ID, pa.string(), nullable=False), *struct(tree)])


SCHEMA: pa.Schema = _build_schema()
_DOCUMENT_SCHEMA = pa.schema(list(SCHEMA)[1:])
# JSON-typed fields are read as their JSON text (Arrow's JSON reader does not fill the extension)
JSON_FIELDS: tuple[tuple[str, ...], ...] = tuple(
    tuple(path.split(".")) for path, es_type in sorted(emitted_fields().items()) if es_type == "flattened"
)


def _as_text(arrow_type: pa.DataType) -> pa.DataType:
    if isinstance(arrow_type, pa.BaseExtensionType):
        return arrow_type.storage_type
    if pa.types.is_struct(arrow_type):
        return pa.struct([pa.field(f.name, _as_text(f.type)) for f in arrow_type])
    return arrow_type


_TEXT_SCHEMA = pa.schema([pa.field(f.name, _as_text(f.type)) for f in _DOCUMENT_SCHEMA])
_PARSE = pa_json.ParseOptions(explicit_schema=_TEXT_SCHEMA, unexpected_field_behavior="ignore")
_READ = pa_json.ReadOptions(use_threads=False, block_size=1 << 26)


def column(batch: pa.RecordBatch, path: str) -> pa.Array:
    """The column at an ECS dotted path (``"source.geo.country_iso_code"``); null where any parent
    struct is null (``StructArray.field`` alone would expose the child's placeholder values)."""
    first, *rest = path.split(".")
    array = batch.column(first)
    return pc.struct_field(array, rest) if rest else array


def record_batch(ids: list[str], documents: list[bytes]) -> pa.RecordBatch:
    """The typed columns of ``documents`` (JSON objects, same order as ``ids``): for tools, tests
    and the error Batches of a decode worker; the native core builds its columns directly.

    A document whose values do not fit the schema would make Arrow refuse the whole block; then
    each document is read alone and one that still does not fit keeps only its id (its full
    document still travels in the batch's documents). The mapping types every value, so this is
    a guard against a field-table bug, not a path real data takes.
    """
    if not documents:
        # (pyarrow builds no empty extension array nested in a struct: cast from the storage types)
        return pa.RecordBatch.from_pylist([], schema=pa.schema([SCHEMA.field(0), *_TEXT_SCHEMA])).cast(SCHEMA)
    texts = [_json_fields_as_text(doc) for doc in documents]
    try:
        table = pa_json.read_json(io.BytesIO(b"\n".join(texts)), read_options=_READ, parse_options=_PARSE)
    except pa.ArrowInvalid:
        table = pa.concat_tables([_one(doc) for doc in texts])
    table = table.select([f.name for f in _TEXT_SCHEMA]).cast(_TEXT_SCHEMA).cast(_DOCUMENT_SCHEMA)
    arrays = [pa.array(ids, pa.string()), *(c.combine_chunks() for c in table.columns)]
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


def _json_fields_as_text(document: bytes) -> bytes:
    """``document`` with each JSON-typed field's value replaced by its JSON text."""
    if not any(path[-1].encode() in document for path in JSON_FIELDS):
        return document
    doc = orjson.loads(document)
    for path in JSON_FIELDS:
        node = doc
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and path[-1] in node:
            node[path[-1]] = orjson.dumps(node[path[-1]]).decode()
    return orjson.dumps(doc)


def _one(document: bytes) -> pa.Table:
    try:
        return pa_json.read_json(io.BytesIO(document), read_options=_READ, parse_options=_PARSE)
    except pa.ArrowInvalid:
        return pa.Table.from_pylist([{}], schema=_TEXT_SCHEMA)
