"""The field table (data) and what is generated from it (DESIGN §1).

:mod:`.table` lists every Imperva key with its typed place in the ECS document, and the ECS fields
built from several keys; :mod:`.keys` is Imperva's key vocabulary (custom labels, rule types).
The decoders, the Elasticsearch templates, the store's columns and the query allow-list are all
derived from here, so they cannot drift apart.
"""

from wafpipe.fields.table import BY_KEY, DATASET, DERIVED_FIELDS, FIELDS, LIST_TYPES, Field, emitted_fields

__all__ = ["BY_KEY", "DATASET", "DERIVED_FIELDS", "FIELDS", "LIST_TYPES", "Field", "emitted_fields"]
