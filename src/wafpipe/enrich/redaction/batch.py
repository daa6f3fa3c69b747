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

from wafpipe._native import RedactionScanner
from wafpipe.enrich.redaction.config import RedactionConfig
from wafpipe.enrich.redaction.text import CARD_RULE, TextRedactor
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


class Redactor:
    """The configured rules applied to Batches; :attr:`counts` adds up what was replaced."""

    def __init__(self, config: RedactionConfig, hash_key: bytes | None = None) -> None:
        self.text = TextRedactor(config, hash_key)
        self.counts: Counter[str] = Counter()
        self.scanner, self._bits = scanner_of(self.text)
        self._bit_rules: dict[int, frozenset[str]] = {}

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
        """Redact ``batch`` in place: its columns, its documents and its problems; what was
        replaced, by rule, goes into ``batch.redacted``."""
        before = Counter(self.counts)
        if len(batch):
            events, changed = self.record_batch(batch.events)
            batch.events = events
            if changed and batch.documents is not None:
                batch.documents = self._patch_documents(batch.documents, changed)
        batch.problems = [self.problem(p) for p in batch.problems]
        batch.redacted = dict(self.counts - before)

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

    def _candidates(self, array: pa.Array, path: str) -> dict[int, frozenset[str] | None]:
        """The rows of ``array`` where some rule could change the value, each with the rules that
        could (None: all of them), from the native scanner's one pass over the column."""
        if path in BASE64_PATHS:  # the raw bytes are hidden in base64: every one is read
            return dict.fromkeys(pc.indices_nonzero(array.is_valid()).to_pylist())
        if array.null_count == len(array):
            return {}
        _, offsets, data = array.buffers()
        hits = self.scanner.scan_column(offsets.to_pybytes(), data.to_pybytes() if data is not None else b"",
                                        array.offset, len(array))
        return {row: self._rules_of(bits) for row, bits in hits}

    def _rules_of(self, bits: int) -> frozenset[str]:
        rules = self._bit_rules.get(bits)
        if rules is None:
            rules = frozenset(name for bit, name in self._bits if bits & bit)
            self._bit_rules[bits] = rules
        return rules

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
        candidates = self._candidates(array, path)
        if path == ORIGINAL:  # rows redacted elsewhere are read whatever the filters say (all rules)
            candidates.update(dict.fromkeys(changed))
        if not candidates:
            return None
        rows = sorted(candidates)
        taken = array.take(pa.array(rows, pa.uint64()))
        replaced: dict[int, str] = {}
        for row, value in zip(rows, taken.to_pylist(), strict=True):
            if value is None:
                continue
            new = self._value(value, path, scope.protected(row), candidates[row])
            if new != value:
                replaced[row] = new
                changed.setdefault(row, {})[path] = orjson.loads(new) if as_json or path in _JSON_PATHS else new
        return _replaced(array, replaced)

    def _list(self, array: pa.ListArray, path: str, scope: _Scope,
              changed: dict[int, dict[str, Any]]) -> pa.Array | None:
        values = array.flatten()
        hits = self._candidates(values, path)
        if not hits:
            return None
        parents = pc.list_parent_indices(array).to_pylist()
        rows = sorted({parents[i] for i in hits})
        touched: dict[int, list[Any]] = {}
        for row, items in zip(rows, array.take(pa.array(rows, pa.uint64())).to_pylist(), strict=True):
            if not items:
                continue
            ids = scope.protected(row)
            new_items = [self._value(v, path, ids) if isinstance(v, str) else v for v in items]
            if new_items != items:
                touched[row] = new_items
                changed.setdefault(row, {})[path] = new_items
        return _replaced(array, touched)

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


def _replaced(array: pa.Array, values: dict[int, Any]) -> pa.Array | None:
    """``array`` with the values at the rows given replaced (None when there are none)."""
    if not values:
        return None
    mask = [False] * len(array)
    for row in values:
        mask[row] = True
    return pc.replace_with_mask(array, pa.array(mask), pa.array([values[r] for r in sorted(values)], array.type))


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


def scanner_of(text: TextRedactor) -> tuple[Any, list[tuple[int, str]]]:
    """The native scanner of ``text``'s rule filters, and which bit stands for which rule."""
    patterns = [(name, pattern) for name, pattern in text.filters.items() if name != CARD_RULE]
    scanner = RedactionScanner([p for _, p in patterns], CARD_RULE in text.filters)
    bits = [(1 << i, name) for i, (name, _) in enumerate(patterns)] + [(scanner.card_bit, CARD_RULE)]
    return scanner, bits
