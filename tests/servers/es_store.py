"""In-memory cluster state: data streams and their backing indices, plain indices, documents and
name resolution (the write path is :mod:`es_bulk`, the read side :mod:`es_query`).

Semantics kept from Elasticsearch 8:
* writing to a name that matches an index template with ``data_stream`` creates the data stream with
  backing index ``.ds-<name>-<yyyy.MM.dd>-000001``; other names auto-create a plain index;
* data streams take only ``op_type: create`` and documents with ``@timestamp``;
* ``_id`` is unique per backing index: ``create`` of an existing id in the write index is a 409,
  while after a rollover the same id lands again in the new write index (a duplicate, as on ES);
* documents become searchable (``_count``/``_search``) after a refresh: explicit, ``?refresh``, or
  ``refresh_interval`` seconds after they were written; realtime ``GET _doc`` sees them at once.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from . import es_errors as err
from .es_document import DocumentMapper
from .es_errors import EsError
from .es_mapping import glob_match, merge_mappings, normalize_mappings
from .es_templates import Templates, flatten_settings

_BAD_NAME = re.compile(r'[\\/*?"<>| ,]')  # Strings.INVALID_FILENAME_CHARS; '#', ':' in check_name


class Doc(NamedTuple):
    """One stored document version. The source is kept as the raw JSON bytes the client sent:
    bytes and tuples of atoms cost the cyclic GC nothing, where millions of parsed dicts would make
    every full collection crawl (and halve bulk throughput)."""

    id: str
    seq_no: int
    version: int
    raw: bytes
    t: float

    @property
    def source(self) -> dict[str, Any]:
        source: dict[str, Any] = orjson.loads(self.raw)
        return source


@dataclass(eq=False)
class Index:
    name: str
    settings: dict[str, Any]
    mapper: DocumentMapper
    data_stream: str | None = None
    uuid: str = field(default_factory=lambda: base64.urlsafe_b64encode(uuid.uuid4().bytes)[:22].decode())
    created: float = field(default_factory=time.time)
    docs: dict[str, Doc] = field(default_factory=dict)
    log: list[Doc] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    refreshed: int = 0

    @property
    def replicas(self) -> int:
        return int(self.settings.get("index.number_of_replicas", "1"))

    @property
    def shards_total(self) -> int:
        return 1 + self.replicas

    @property
    def policy(self) -> str | None:
        return self.settings.get("index.lifecycle.name")

    def append(self, doc: Doc) -> None:
        self.docs[doc.id] = doc
        self.log.append(doc)
        self.times.append(doc.t)

    def live(self) -> list[Doc]:
        docs = self.docs
        return [d for d in self.log if docs.get(d.id) is d]

    def searchable(self, interval: float) -> list[Doc]:
        upto = self.refreshed
        if interval >= 0:
            upto = max(upto, bisect.bisect_right(self.times, time.monotonic() - interval))
        docs = self.docs
        return [d for d in self.log[:upto] if docs.get(d.id) is d]

    def refresh(self) -> None:
        self.refreshed = len(self.log)


@dataclass(eq=False)
class DataStream:
    name: str
    template: str
    indices: list[Index]
    meta: dict[str, Any] | None = None
    hidden: bool = False

    @property
    def write_index(self) -> Index:
        return self.indices[-1]


class Cluster:
    def __init__(self, *, builtin_templates: bool = True, refresh_interval: float = 1.0, validate: bool = True):
        self.lock = threading.RLock()
        self.templates = Templates(builtin=builtin_templates)
        self.indices: dict[str, Index] = {}
        self.data_streams: dict[str, DataStream] = {}
        self.refresh_interval = refresh_interval
        self.validate = validate

    # -- names ----------------------------------------------------------------------------------
    @staticmethod
    def check_name(name: str, data_stream: bool = False) -> None:
        """The checks and messages of MetadataCreateIndexService.validateIndexOrAliasName, then lowercase, as
        OpenSearch 2.19 / Elasticsearch run them: '#' and ':' have messages of their own, and for a data stream
        (MetadataCreateDataStreamService) the same rules answer ``illegal_argument_exception``
        "data_stream [NAME] ...", not ``invalid_index_name_exception``."""
        problem = None
        if _BAD_NAME.search(name):
            problem = 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]'
        elif "#" in name:
            problem = "must not contain '#'"
        elif ":" in name:
            problem = "must not contain ':'"
        elif name[:1] in ("-", "_", "+"):
            problem = "must not start with '_', '-', or '+'"
        elif name in (".", ".."):
            problem = "must not be '.' or '..'"
        elif name != name.lower():
            problem = "must be lowercase"
        if problem and data_stream:
            raise err.illegal_argument(f"data_stream [{name}] {problem}")
        if problem:
            raise EsError(400, "invalid_index_name_exception", f"Invalid index name [{name}], {problem}",
                          extra={"index_uuid": "_na_", "index": name})

    # -- data streams ---------------------------------------------------------------------------
    def create_data_stream(self, name: str) -> DataStream:
        with self.lock:
            if name in self.data_streams:
                raise EsError(400, "resource_already_exists_exception", f"data_stream [{name}] already exists")
            self.check_name(name, data_stream=True)
            tmpl_name = self.templates.find(name)
            if tmpl_name is None:
                raise err.illegal_argument(f"no matching index template found for data stream [{name}]")
            tmpl = self.templates.index_templates[tmpl_name]
            if "data_stream" not in tmpl:
                raise err.illegal_argument(f"matching index template [{tmpl_name}] for data stream [{name}] has no "
                                           "data stream template")
            ds = DataStream(name, tmpl_name, [], tmpl.get("_meta"), tmpl["data_stream"].get("hidden", False))
            ds.indices.append(self._backing_index(ds, 1))
            self.data_streams[name] = ds
            return ds

    def _backing_index(self, ds: DataStream, generation: int) -> Index:
        settings, mappings = self.templates.compose(ds.template)
        settings = {**settings, "index.hidden": "true"}
        day = dt.datetime.now(dt.UTC).strftime("%Y.%m.%d")
        index = Index(f".ds-{ds.name}-{day}-{generation:06d}", settings, DocumentMapper(mappings, settings, True), ds.name)
        self.indices[index.name] = index
        return index

    def rollover(self, name: str) -> tuple[str, str]:
        with self.lock:
            ds = self.data_streams.get(name)
            if ds is None:
                raise err.illegal_argument(f"rollover target [{name}] does not exist")
            old = ds.write_index
            ds.indices.append(self._backing_index(ds, len(ds.indices) + 1))
            return old.name, ds.write_index.name

    def delete_data_streams(self, expr: str) -> None:
        with self.lock:
            names = self.match_data_streams(expr, missing_ok=False)
            for n in names:
                for index in self.data_streams.pop(n).indices:
                    self.indices.pop(index.name, None)

    def match_data_streams(self, expr: str | None, missing_ok: bool = True) -> list[str]:
        known = sorted(self.data_streams)
        if not expr or expr in ("*", "_all"):
            return known
        out: list[str] = []
        for part in expr.split(","):
            if "*" in part:
                out.extend(n for n in known if glob_match(part, n) and n not in out)
            elif part in self.data_streams:
                out.append(part)
            elif not missing_ok:
                raise err.index_not_found(part)
        return out

    def describe(self, ds: DataStream) -> dict[str, Any]:
        policy = ds.write_index.policy
        managed = "Index Lifecycle Management" if policy else "Unmanaged"
        out: dict[str, Any] = {
            "name": ds.name,
            "timestamp_field": {"name": "@timestamp"},
            "indices": [
                {"index_name": i.name, "index_uuid": i.uuid, "prefer_ilm": True,
                 **({"ilm_policy": i.policy} if i.policy else {}), "managed_by": managed}
                for i in ds.indices
            ],
            "generation": len(ds.indices),
        }
        if ds.meta is not None:
            out["_meta"] = ds.meta
        out.update({
            "status": "YELLOW" if ds.write_index.replicas else "GREEN",
            "template": ds.template,
            **({"ilm_policy": policy} if policy else {}),
            "next_generation_managed_by": managed,
            "prefer_ilm": True,
            "hidden": ds.hidden,
            "system": False,
            "allow_custom_routing": False,
            "replicated": False,
            "rollover_on_write": False,
        })
        return out

    # -- plain indices --------------------------------------------------------------------------
    def create_index(self, name: str, body: dict[str, Any] | None, auto: bool = False) -> Index:
        with self.lock:
            if name in self.indices or name in self.data_streams:
                existing = self.indices.get(name)
                uid = existing.uuid if existing else "_na_"
                raise EsError(400, "resource_already_exists_exception", f"index [{name}/{uid}] already exists",
                              extra={"index_uuid": uid, "index": name})
            self.check_name(name)
            settings: dict[str, Any] = {}
            mappings: dict[str, Any] = {}
            tmpl_name = self.templates.find(name)
            if tmpl_name is not None:
                if "data_stream" in self.templates.index_templates[tmpl_name] and not auto:
                    raise err.illegal_argument(f"cannot create index with name [{name}], because it matches with "
                                               f"template [{tmpl_name}] that creates data streams only, use create "
                                               "data stream api instead")
                settings, mappings = self.templates.compose(tmpl_name)
            body = body or {}
            settings = {**settings, **flatten_settings(body.get("settings", {}))}
            if "mappings" in body:
                mappings = merge_mappings(mappings, normalize_mappings(body["mappings"]))
            index = Index(name, settings, DocumentMapper(mappings, settings, False))
            self.indices[name] = index
            return index

    def delete_indices(self, expr: str) -> None:
        with self.lock:
            targets = self.resolve(expr, ignore_unavailable=False, include_backing=True, expand_ds=False)
            for index in targets:
                if index.data_stream is not None:
                    ds = self.data_streams[index.data_stream]
                    if ds.write_index is index:
                        raise err.illegal_argument(f"index [{index.name}] is the write index for data stream "
                                                   f"[{ds.name}] and cannot be deleted")
                    ds.indices.remove(index)
                del self.indices[index.name]

    # -- resolution -----------------------------------------------------------------------------
    def resolve(self, expr: str | None, *, ignore_unavailable: bool = False, include_backing: bool = True,
                expand_ds: bool = True) -> list[Index]:
        """Concrete indices behind a comma list of names/wildcards (data streams expand)."""
        out: list[Index] = []

        def add(index: Index) -> None:
            if index not in out:
                out.append(index)

        for part in (expr or "_all").split(","):
            if part in ("_all", "*") or "*" in part:
                pattern = "*" if part == "_all" else part
                for ds in self.data_streams.values():
                    if expand_ds and glob_match(pattern, ds.name):
                        for index in ds.indices:
                            add(index)
                for index in self.indices.values():
                    # backing indices (hidden, dot-prefixed) match only patterns that start with a dot
                    hidden = index.data_stream is not None or index.name.startswith(".")
                    if glob_match(pattern, index.name) and (not hidden or pattern.startswith(".")):
                        add(index)
            elif expand_ds and part in self.data_streams:
                for index in self.data_streams[part].indices:
                    add(index)
            elif part in self.indices and (include_backing or self.indices[part].data_stream is None):
                add(self.indices[part])
            elif not ignore_unavailable:
                raise err.index_not_found(part)
        return out

    def write_target(self, name: str, require_ds: bool) -> tuple[Index, DataStream | None]:
        ds = self.data_streams.get(name)
        if ds is not None:
            return ds.write_index, ds
        index = self.indices.get(name)
        if index is not None:
            if require_ds:
                raise err.index_not_found(name, f"no such index [{name}] and [require_data_stream] request flag is "
                                                f"[true] and [{name}] is not a data stream")
            return index, None
        if "*" in name:
            # Seen on OpenSearch 2.19: a write to a new name with a wildcard is refused as an index name,
            # before a data-stream template matching it is looked at.
            self.check_name(name)
        tmpl_name = self.templates.find(name)
        tmpl = self.templates.index_templates.get(tmpl_name) if tmpl_name else None
        if tmpl is not None and "data_stream" in tmpl:
            ds = self.create_data_stream(name)
            return ds.write_index, ds
        if require_ds:
            raise err.index_not_found(name, f"no such index [{name}] and [require_data_stream] request flag is [true] "
                                            f"and [{name}] is not a data stream")
        if tmpl is not None and tmpl.get("allow_auto_create") is False:
            raise err.index_not_found(name, f"no such index [{name}] and composable template [{tmpl_name}] forbids "
                                            "index auto creation")
        return self.create_index(name, None, auto=True), None

    # -- reads ----------------------------------------------------------------------------------
    def refresh(self, expr: str | None) -> int:
        with self.lock:
            targets = self.resolve(expr, ignore_unavailable=False)
            for index in targets:
                index.refresh()
            return len(targets)

    def get_doc(self, target: str, doc_id: str) -> tuple[Index | None, Doc | None]:
        with self.lock:
            targets = self.resolve(target)
            if len(targets) > 1:
                raise err.illegal_argument("unable to return a single index as the index and options provided got "
                                           "resolved to multiple indices")
            index = targets[0] if targets else None
            doc = index.docs.get(doc_id) if index is not None else None
            return index, doc
