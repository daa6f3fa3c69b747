"""Redaction of a whole :class:`~wafpipe.model.Batch`, in the decode worker, before any sink sees it.

A Batch reaches the sinks in three shapes — typed Arrow columns (DuckDB, the archive's Parquet,
syslog and HEC), JSON documents (the cluster sinks and their spools) and problems (dead letters,
logs) — and each must lose the same secrets. The columns are the truth: every text column (lists
and JSON-typed columns included, ``event.original`` too) goes through one RE2 match in Arrow, which
leaves the few values a rule could change; those go through :class:`.text.TextRedactor`, and the
new values replace the old ones in the column. A document is then patched from its row's redacted
columns (the column value, parsed where the field is JSON), so it cannot disagree with them. Rows
with nothing to redact cost one vectorised match per column and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections import Counter
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from wafpipe.enrich.redaction.config import RedactionConfig
from wafpipe.enrich.redaction.text import TextRedactor
from wafpipe.errors import ConfigError
from wafpipe.fields.arrow import ID, JSON_FIELDS, column
from wafpipe.model import Batch, Problem

# Imperva's long ids: never taken for card numbers, in their own columns or in event.original.
PROTECTED_PATHS = (
    "imperva.waf.request_id", "imperva.waf.session_id", "imperva.waf.site.id", "imperva.waf.account.id",
    "imperva.waf.client.visitor_id",
)
BASE64_PATHS = frozenset({"imperva.waf.original_base64"})  # the raw line of a line that was not UTF-8
# Columns the pipeline writes itself (ids, constants, file facts): nothing from the request.
SKIPPED_PREFIXES = ("_id", "data_stream.", "ecs.", "event.dataset", "event.module", "event.kind",
                    "imperva.waf.file.", "log.file.", *PROTECTED_PATHS)
_JSON_PATHS = frozenset(".".join(p) for p in JSON_FIELDS)
ORIGINAL = "event.original"
# Imperva's id keys and their digits, left out of event.original when choosing candidate rows only.
_ID_PAIRS = r"(?i)(?:deviceExternalId|fileId|sessionId|siteid|suid)\\?=[0-9]+"


class Redactor:
    """The configured rules applied to Batches; :attr:`counts` adds up what was replaced."""

    def __init__(self, config: RedactionConfig, hash_key: bytes | None = None) -> None:
        self.text = TextRedactor(config, hash_key)
        self.counts: Counter[str] = Counter()

    @classmethod
    def from_config(cls, config: RedactionConfig | None) -> Redactor | None:
        """The redactor ``config`` asks for (None when redaction is off); the hash key is read from
        the environment here, so a missing key stops the start, not the first secret."""
        if config is None or not config.enabled:
            return None
        key = None
        if config.action == "hash":
            secret = config.secret("hash_key")
            if secret is None or len(secret) < 16:
                raise ConfigError(
                    f"the redaction hash key in ${config.hash_key_env} is shorter than 16 characters",
                    hint="use a long random value, e.g. `openssl rand -hex 32`",
                )
            key = secret.encode()
        return cls(config, key)

    # -- a Batch -------------------------------------------------------------------------------
    def batch(self, batch: Batch) -> None:
        """Redact ``batch`` in place: its columns, its documents and its problems."""
        if len(batch):
            events, changed = self.record_batch(batch.events)
            batch.events = events
            if changed and batch.documents is not None:
                batch.documents = self._patch_documents(batch.documents, changed)
        batch.problems = [self.problem(p) for p in batch.problems]

    def record_batch(self, rb: pa.RecordBatch) -> tuple[pa.RecordBatch, dict[int, dict[str, Any]]]:
        """``rb`` redacted, and for each changed row its new values by dotted path."""
        scope = _Scope(rb)
        changed: dict[int, dict[str, Any]] = {}
        arrays = []
        for name, array in zip(rb.schema.names, rb.columns, strict=True):
            new = self._array(array, name, scope, changed, skip=ORIGINAL)
            arrays.append(array if new is None else new)
        # The raw line holds every value of its row: it goes last, and a row redacted anywhere else
        # has its line redacted too, whatever its filter said.
        top = ORIGINAL.split(".")[0]
        if top in rb.schema.names:
            at = rb.schema.names.index(top)
            new = self._array(arrays[at], top, scope, changed, only=ORIGINAL)
            arrays[at] = arrays[at] if new is None else new
        if not changed:
            return rb, changed
        return pa.RecordBatch.from_arrays(arrays, schema=rb.schema), changed

    def _candidates(self, array: pa.Array, path: str) -> list[int]:
        """The rows of ``array`` where some rule could change the value (one RE2 match in Arrow)."""
        if path in BASE64_PATHS:  # the raw bytes are hidden in base64: every one is read
            hit = array.is_valid()
        else:
            if path == ORIGINAL:  # Imperva's own ids (CEF/LEEF keys) would look like cards to RE2
                array = pc.replace_substring_regex(array, _ID_PAIRS, "")
            hit = pc.fill_null(pc.match_substring_regex(array, self.text.prefilter), False)
        return pc.indices_nonzero(hit).to_pylist()  # type: ignore[no-any-return]

    def _array(self, array: pa.Array, path: str, scope: _Scope, changed: dict[int, dict[str, Any]],
               *, skip: str = "", only: str = "") -> pa.Array | None:
        """``array`` (at ``path``) redacted, or None when nothing in it changed; without the field at
        ``skip``, or with only the one at ``only``."""
        if path.startswith(SKIPPED_PREFIXES) or path in (ID, skip):
            return None
        if only and only != path and not only.startswith(path + "."):
            return None
        kind = array.type
        if pa.types.is_struct(kind):
            children = array.flatten()
            news = [self._array(child, f"{path}.{kind.field(i).name}", scope, changed, skip=skip, only=only)
                    for i, child in enumerate(children)]
            if all(n is None for n in news):
                return None
            merged = [c if n is None else n for c, n in zip(children, news, strict=True)]
            return pa.StructArray.from_arrays(merged, fields=list(kind), mask=array.is_null())
        if isinstance(kind, pa.BaseExtensionType):
            new_storage = self._strings(array.storage, path, scope, changed, as_json=True)
            return None if new_storage is None else pa.ExtensionArray.from_storage(kind, new_storage)
        if pa.types.is_list(kind) and pa.types.is_string(kind.value_type):
            return self._list(array, path, scope, changed)
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return self._strings(array, path, scope, changed)
        return None

    def _strings(self, array: pa.Array, path: str, scope: _Scope,
                 changed: dict[int, dict[str, Any]], *, as_json: bool = False) -> pa.Array | None:
        rows = self._candidates(array, path)
        if path == ORIGINAL:  # rows redacted elsewhere are read whatever the filters say
            rows = sorted(set(rows) | set(changed))
        if not rows:
            return None
        taken = array.take(pa.array(rows, pa.uint64()))
        replaced: dict[int, str] = {}
        for row, value, rules in zip(rows, taken.to_pylist(), self._rules_of(taken, path), strict=True):
            every = path == ORIGINAL and row in changed
            if value is None or (rules == frozenset() and not every):
                continue
            new = self._value(value, path, scope.protected(row), None if every else rules)
            if new != value:
                replaced[row] = new
                changed.setdefault(row, {})[path] = orjson.loads(new) if as_json or path in _JSON_PATHS else new
        if not replaced:
            return None
        full = array.to_pylist()
        for row, new in replaced.items():
            full[row] = new
        return pa.array(full, type=array.type)

    def _list(self, array: pa.ListArray, path: str, scope: _Scope,
              changed: dict[int, dict[str, Any]]) -> pa.Array | None:
        values = array.flatten()
        if not self._candidates(values, path):
            return None
        touched: dict[int, list[Any]] = {}
        for row, items in enumerate(array.to_pylist()):
            if not items:
                continue
            ids = scope.protected(row)
            new_items = [self._value(v, path, ids) if isinstance(v, str) else v for v in items]
            if new_items != items:
                touched[row] = new_items
                changed.setdefault(row, {})[path] = new_items
        if not touched:
            return None
        lists = array.to_pylist()
        for row, items in touched.items():
            lists[row] = items
        return pa.array(lists, type=array.type)

    def _rules_of(self, values: pa.Array, path: str) -> list[frozenset[str] | None]:
        """For each of ``values`` (a candidate row's), the rules whose own filter matches it: a value
        with a long id in it pays for the card scan only, not for every rule."""
        if path in BASE64_PATHS:
            return [None] * len(values)
        hits = [(name, pc.fill_null(pc.match_substring_regex(values, pattern), False).to_pylist())
                for name, pattern in self.text.filters.items()]
        return [frozenset(name for name, hit in hits if hit[i]) for i in range(len(values))]

    def _value(self, value: str, path: str, protected: frozenset[str], rules: frozenset[str] | None = None) -> str:
        if path not in BASE64_PATHS:
            return self.text.redact(value, protected, self.counts, rules)
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return self.text.redact(value, protected, self.counts)
        text = raw.decode("utf-8", "surrogateescape")
        new = self.text.redact(text, protected, self.counts)
        return value if new == text else base64.b64encode(new.encode("utf-8", "surrogateescape")).decode()

    @staticmethod
    def _patch_documents(documents: list[bytes], changed: dict[int, dict[str, Any]]) -> list[bytes]:
        out = list(documents)
        for row, fields in changed.items():
            doc = orjson.loads(out[row])
            for path, value in fields.items():
                node = doc
                *parents, leaf = path.split(".")
                for part in parents:
                    node = node.setdefault(part, {})
                node[leaf] = value
            out[row] = orjson.dumps(doc)
        return out

    # -- problems, lines and files -------------------------------------------------------------
    def problem(self, p: Problem) -> Problem:
        """``p`` with its line, reason, hint and context redacted (dead letters, logs)."""
        redact = self.text.redact
        raw = None if p.raw is None else self.line(p.raw)
        context = None
        if p.context is not None:
            context = {k: redact(v, (), self.counts) if isinstance(v, str) else v for k, v in p.context.items()}
        return dataclasses.replace(p, raw=raw, reason=redact(p.reason, (), self.counts),
                                   hint=redact(p.hint, (), self.counts), context=context)

    def line(self, raw: bytes) -> bytes:
        """One raw line (or any bytes) redacted, its other bytes kept as they were."""
        text = raw.decode("utf-8", "surrogateescape")
        new = self.text.redact(text, (), self.counts)
        return raw if new == text else new.encode("utf-8", "surrogateescape")


class _Scope:
    """Each row's Imperva ids, read from their columns once, when a candidate first needs them."""

    def __init__(self, rb: pa.RecordBatch) -> None:
        self._rb = rb
        self._columns: list[list[Any]] | None = None

    def protected(self, row: int) -> frozenset[str]:
        if self._columns is None:
            names = set(self._rb.schema.names)
            self._columns = [column(self._rb, p).to_pylist() for p in PROTECTED_PATHS
                             if p.split(".")[0] in names and _has(self._rb, p)]
        return frozenset(str(c[row]) for c in self._columns if c[row] is not None)


def _has(rb: pa.RecordBatch, path: str) -> bool:
    try:
        column(rb, path)
    except (KeyError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True
