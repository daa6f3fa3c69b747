"""The Elasticsearch / OpenSearch sink: an fsync'd spool in front of a background bulk sender.

Why this shape (DESIGN §2): ``write`` must return only when a batch is durable, yet a cluster can be
slow or down for hours. So ``write`` serialises the batch into ``_bulk`` records, appends them to the
sink's spool (:mod:`wafpipe.sinks.es_spool`, fsync'd) and returns ``WriteResult(spooled=n)``; the
pipeline then checkpoints. Sender threads drain the spool in order:

* every record is ``{"create": {"_index": <target>, "_id": <Event.id>}}`` + the document, so a
  replay of the same event is a 409, which counts as delivered ("first write wins");
* per item: 201/409 → delivered; 429, 5xx, 401/403 → retried with exponential backoff and jitter
  (capped at ``retry_max_backoff_s``; never dropped — the spool is the buffer); mapping errors
  (``document_parsing_exception`` …) → dead letter with the cluster's reason; anything else →
  retried ``max_retries`` times, then dead-lettered;
* a whole request refused with 400/413 is split in halves until the culprit is alone;
* a chunk of the spool is acknowledged (and its segment deleted) only when each of its records is
  delivered or dead-lettered.

Documents get ``data_stream.{type,dataset,namespace}`` matching the target ``logs-imperva.waf-<ns>``;
the namespace comes from ``namespace_rules`` (account id, site id or site tag), else ``namespace``.
The event dicts themselves are not changed: other sinks see them as decoded.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from wafpipe.sinks.base import DeadLetter, Event, Sink, WriteResult
from wafpipe.sinks.es_client import ClusterClient, Rejected, Transient, classify, error_reason
from wafpipe.sinks.es_client import item as bulk_item
from wafpipe.sinks.es_spool import Chunk, Spool

if TYPE_CHECKING:
    from wafpipe.config import Config, ElasticsearchSinkConfig, NamespaceRule, OpenSearchSinkConfig
    from wafpipe.state import State

log = logging.getLogger("wafpipe.sinks.elasticsearch")

DATASET = "imperva.waf"
TEMPLATE_NAME = f"logs-{DATASET}"


def target_name(namespace: str) -> str:
    """The data stream (or rollover alias) for a namespace: ``logs-imperva.waf-<namespace>``."""
    return f"logs-{DATASET}-{namespace}"


@dataclass
class SinkOptions:
    """Tuning knobs; the config model supplies the first ones, the rest have safe defaults."""

    batch_size: int = 1000  # records per _bulk request
    max_bulk_bytes: int = 8 << 20
    max_retries: int = 5  # for per-item errors that are neither transient nor mapping errors
    retry_backoff_s: float = 0.5
    retry_max_backoff_s: float = 30.0
    spool_max_bytes: int = 1 << 30
    spool_block_timeout_s: float = 300.0
    senders: int = 2  # bulk requests in flight
    fsync: bool = True


@dataclass
class SinkStats:
    written: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    failed_requests: int = 0
    requests: int = 0
    last_error: str | None = None
    failing_since: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class NamespaceRouter:
    """First matching rule wins; ``imperva.waf.account.id`` / ``site.id`` / ``site.tag``."""

    _PATHS = {"account_id": ("account", "id"), "site_id": ("site", "id"), "site_tag": ("site", "tag")}

    def __init__(self, default: str, rules: list[NamespaceRule] | None = None) -> None:
        self.default = default
        self.rules = [(self._PATHS[r.match], r.value, r.namespace) for r in rules or []]

    def __call__(self, doc: dict[str, Any]) -> str:
        if not self.rules:
            return self.default
        waf = (doc.get("imperva") or {}).get("waf") or {}
        for (group, leaf), value, namespace in self.rules:
            got = (waf.get(group) or {}).get(leaf)
            if got is not None and str(got) == value:
                return namespace
        return self.default

    def namespaces(self) -> list[str]:
        return list(dict.fromkeys([self.default, *(ns for _, _, ns in self.rules)]))


class ClusterSink(Sink):
    """Spool + sender for one ``[[sinks]]`` entry of type elasticsearch or opensearch."""

    def __init__(
        self,
        client: ClusterClient,
        *,
        name: str,
        spool_dir: Path,
        router: NamespaceRouter,
        options: SinkOptions | None = None,
        state: State | None = None,
        data_dir: Path | None = None,
        require_alias: bool = False,
    ) -> None:
        self.client = client
        self.name = name
        self.router = router
        self.opt = options or SinkOptions()
        self.spool = Spool(spool_dir, max_bytes=self.opt.spool_max_bytes, sync=self.opt.fsync)
        self.stats = SinkStats()
        self.require_alias = require_alias
        self._state = state
        self._own_state = state is None
        self._data_dir = data_dir
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._prefixes: dict[str, tuple[bytes, bytes]] = {}
        self._bootstrapped: set[str] = set()
        self._checked_template = False
        self._opened = False
        self._last_log = 0.0
        self._last_health = 0.0

    # ------------------------------------------------------------------------------ Sink API
    def open(self) -> None:
        if self._opened:
            return
        if self._state is None and self._data_dir is not None:
            from wafpipe.state import State

            self._state = State(self._data_dir)
        self.spool.open()
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._sender, name=f"{self.name}-sender-{i}", daemon=True)
            for i in range(max(1, self.opt.senders))
        ]
        for t in self._threads:
            t.start()
        self._opened = True

    def write(self, batch: list[Event]) -> WriteResult:
        if not batch:
            return WriteResult()
        self.open()
        dead: list[DeadLetter] = []
        self.spool.append(self._records(batch, dead), timeout=self.opt.spool_block_timeout_s)
        return WriteResult(spooled=len(batch) - len(dead), dead_letters=dead)

    def _records(self, batch: list[Event], dead: list[DeadLetter]) -> Iterator[bytes | memoryview]:
        """The ``_bulk`` records of ``batch`` as byte pieces; unserialisable events go to ``dead``."""
        dumps = orjson.dumps
        for ev in batch:
            doc = ev.doc
            namespace = self.router(doc)
            prefix, suffix = self._prefixes.get(namespace) or self._prefix(namespace)
            try:
                ident = dumps(ev.id)
                if doc and "data_stream" not in doc:
                    # Close the object with data_stream ourselves: no copy of the dict, and no
                    # copy of the serialised bytes (a memoryview slice).
                    source: bytes | memoryview = memoryview(dumps(doc))[:-1]
                    tail = suffix
                else:
                    source, tail = dumps({**doc, "data_stream": self._ds(namespace)}), b"\n"
            except TypeError as exc:
                dead.append(DeadLetter(ev, f"not serialisable as JSON: {exc}"))
                continue
            yield prefix
            yield ident
            yield b"}}\n"
            yield source
            yield tail

    def flush(self, timeout: float | None = None) -> bool:
        if not self._opened:
            return True
        return self.spool.wait_empty(timeout)

    def close(self) -> None:
        if not self._opened:
            return
        self._opened = False
        self._stop.set()
        for t in self._threads:
            t.join(timeout=min(10.0, self.opt.retry_max_backoff_s + 1))
        self.spool.close()
        self.client.close()
        if self._own_state and self._state is not None:
            self._state.close()
            self._state = None

    @property
    def pending_bytes(self) -> int:
        """Bytes spooled but not yet delivered."""
        return self.spool.pending_bytes

    # ------------------------------------------------------------------------------ records
    @staticmethod
    def _ds(namespace: str) -> dict[str, str]:
        return {"type": "logs", "dataset": DATASET, "namespace": namespace}

    def _prefix(self, namespace: str) -> tuple[bytes, bytes]:
        """(action line up to the id, ``,"data_stream":{…}}`` to close the source) for a namespace."""
        target = target_name(namespace)
        action = {"_index": target, **({"require_alias": True} if self.require_alias else {})}
        prefix = b'{"create":' + orjson.dumps(action)[:-1] + b',"_id":'
        entry = (prefix, b',"data_stream":' + orjson.dumps(self._ds(namespace)) + b"}\n")
        self._prefixes[namespace] = entry
        return entry

    # ------------------------------------------------------------------------------ sender
    def _sender(self) -> None:
        while not self._stop.is_set():
            try:
                chunk = self.spool.read(self.opt.batch_size, self.opt.max_bulk_bytes, timeout=0.5)
                if chunk is None:
                    continue
                if not self._checked_template:
                    self._check_template()
                if not self._deliver(chunk):
                    return  # stopping: the chunk stays in the spool for the next run
                self.spool.ack(chunk)
            except Exception as exc:  # a bug or a dead-letter store failure must not kill the sender
                self._failed(f"sender error: {type(exc).__name__}: {self.client.redact(str(exc))}")
                if self._stop.wait(self.opt.retry_backoff_s):
                    return

    def _deliver(self, chunk: Chunk) -> bool:
        """Deliver or dead-letter every record of ``chunk``; False when stopped first.

        The common case costs one request and no per-record work: the chunk is the request body
        and an answer with ``errors: false`` means every document was created. Records are split
        out only when some item needs a retry or a dead letter."""
        Records = list[tuple[bytes, bytes]]
        groups: list[tuple[Records | None, bytes | None]] = [(None, chunk.body)]  # None: the whole chunk
        tries: dict[bytes, int] = {}
        attempt = 0
        while groups:
            group, body = groups.pop()
            if body is None:
                assert group is not None
                body = b"".join(a + b"\n" + s + b"\n" for a, s in group)
            size = chunk.records if group is None else len(group)
            if self._stop.is_set():
                return False
            with self.stats.lock:
                self.stats.requests += 1
            try:
                errors, items = self.client.bulk(body)
                if len(items) != size:
                    raise Transient(f"the _bulk answer has {len(items)} items for {size} documents")
            except Transient as exc:
                self._failed(str(exc))
                groups.append((group, body))
                if not self._backoff(attempt):
                    return False
                attempt += 1
                continue
            except Rejected as exc:
                group = _records(chunk) if group is None else group
                if len(group) == 1:
                    self._dead_letter([(group[0], f"HTTP {exc.status}: {exc}")])
                else:
                    half = len(group) // 2
                    groups += [(group[half:], None), (group[:half], None)]
                continue
            if not errors:
                with self.stats.lock:
                    self.stats.written += size
                self._recovered()
                continue
            group = _records(chunk) if group is None else group
            retry, dead, progress = self._sort(group, [bulk_item(i) for i in items], tries)
            if dead:
                self._dead_letter(dead)
            if progress:
                self._recovered()
            if retry:
                groups.append((retry, None))
                attempt = 0 if progress else attempt + 1
                if not self._backoff(attempt):
                    return False
        return True

    def _sort(
        self, group: list[tuple[bytes, bytes]], items: list[dict[str, Any]], tries: dict[bytes, int]
    ) -> tuple[list[tuple[bytes, bytes]], list[tuple[tuple[bytes, bytes], str]], bool]:
        retry: list[tuple[bytes, bytes]] = []
        dead: list[tuple[tuple[bytes, bytes], str]] = []
        written = duplicates = 0
        for record, item in zip(group, items, strict=True):
            kind = classify(item)
            if kind == "ok":
                written += 1
            elif kind == "duplicate":
                duplicates += 1
            elif kind == "retry":
                retry.append(record)
            elif kind == "rejected":
                dead.append((record, error_reason(item.get("error"))))
            else:
                if kind == "no_alias":
                    self._bootstrap(str(item.get("_index", "")))
                n = tries[record[0]] = tries.get(record[0], 0) + 1
                if n > self.opt.max_retries:
                    dead.append((record, f"HTTP {item.get('status')}: {error_reason(item.get('error'))} "
                                         f"(gave up after {n} attempts)"))
                else:
                    retry.append(record)
        with self.stats.lock:
            self.stats.written += written
            self.stats.duplicates += duplicates
        if retry and not written and not duplicates:
            first = next(i for r, i in zip(group, items, strict=True) if r is retry[0])
            self._failed(f"{len(retry)} documents to retry, e.g. HTTP {first.get('status')}: "
                         f"{error_reason(first.get('error'))}")
        return retry, dead, bool(written or duplicates or dead)

    def _dead_letter(self, dead: list[tuple[tuple[bytes, bytes], str]]) -> None:
        records = []
        for (action, source), reason in dead:
            meta = next(iter(orjson.loads(action).values()))
            try:
                document: Any = orjson.loads(source)
            except orjson.JSONDecodeError:
                document = source.decode("utf-8", "replace")
            path = ((document.get("log") or {}).get("file") or {}).get("path") if isinstance(document, dict) else None
            records.append({"kind": "sink_rejected", "sink": self.name, "id": meta.get("_id"),
                            "index": meta.get("_index"), "file": path, "reason": reason, "document": document})
            log.warning("%s: document %s dead-lettered: %s", self.name, meta.get("_id"), reason)
        if self._state is not None:
            self._state.add_dead_letters(records)
        with self.stats.lock:
            self.stats.dead_lettered += len(records)

    def _backoff(self, attempt: int) -> bool:
        """Sleep for exponential backoff with jitter; False when the sink is stopping."""
        delay = min(self.opt.retry_max_backoff_s, self.opt.retry_backoff_s * (2 ** min(attempt, 30)))
        delay = delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - jitter, not security
        return not self._stop.wait(delay)

    def _bootstrap(self, alias: str) -> None:
        """Rollover-alias mode (OpenSearch ``use_data_stream = false``): create ``<alias>-000001``
        as the alias's write index the first time a write finds no alias."""
        if not alias or alias in self._bootstrapped:
            return
        try:
            status, body = self.client.request(
                "PUT", f"/{alias}-000001", {"aliases": {alias: {"is_write_index": True}}})
        except Transient as exc:
            self._failed(str(exc))
            return
        if status < 300 or "already_exists" in str(body):
            self._bootstrapped.add(alias)
            log.info("%s: created %s-000001 as the write index of %s", self.name, alias, alias)

    def _check_template(self) -> None:
        """Warn once when our index template is missing (documents would get another mapping)."""
        self._checked_template = True
        try:
            status, _ = self.client.request("GET", f"/_index_template/{TEMPLATE_NAME}")
        except Transient:
            self._checked_template = False
            return
        if status == 404:
            log.warning("%s: index template %s is not installed on %s; run `wafpipe elastic setup` so "
                        "documents get wafpipe's mappings", self.name, TEMPLATE_NAME, self.client.display)

    # ------------------------------------------------------------------------------ health
    def _failed(self, message: str) -> None:
        now = time.time()
        message = self.client.redact(message)
        with self.stats.lock:
            self.stats.failed_requests += 1
            self.stats.last_error = message
            first = self.stats.failing_since is None
            if first:
                self.stats.failing_since = now
            since = self.stats.failing_since or now
        if first or now - self._last_log >= 30:
            self._last_log = now
            extra = "" if first else f" (failing for {now - since:.0f} s)"
            log.warning("%s: %s%s; %d bytes wait in the spool, retrying", self.name, message, extra,
                        self.spool.pending_bytes)
        if self._state is not None and now - self._last_health >= 10:
            self._last_health = now
            self._state.set_health(f"sink.{self.name}", last_error=now, error=message)

    def _recovered(self) -> None:
        with self.stats.lock:
            since = self.stats.failing_since
            self.stats.failing_since = None
        if since is not None:
            log.info("%s: delivering again after %.0f s of failures", self.name, time.time() - since)
            if self._state is not None:
                self._state.set_health(f"sink.{self.name}", last_success=time.time())
                self._last_health = time.time()


def _records(chunk: Chunk) -> list[tuple[bytes, bytes]]:
    lines = chunk.body.split(b"\n")
    return [(lines[i], lines[i + 1]) for i in range(0, 2 * chunk.records, 2)]


def build_cluster_sink(
    entry: ElasticsearchSinkConfig | OpenSearchSinkConfig, config: Config, *, state: State | None = None
) -> ClusterSink:
    """A :class:`ClusterSink` for a ``[[sinks]]`` entry (secrets are read from the environment now,
    so a missing variable is a configuration error before anything starts)."""
    from wafpipe.sinks.es_client import make_client

    name = entry.name or entry.type
    opts = SinkOptions(
        batch_size=entry.batch_size,
        max_retries=entry.max_retries,
        spool_max_bytes=entry.spool_max_bytes,
        **{k: getattr(entry, k) for k in ("max_bulk_bytes", "retry_backoff_s", "retry_max_backoff_s",
                                          "spool_block_timeout_s", "senders") if getattr(entry, k, None)},
    )
    return ClusterSink(
        make_client(entry),
        name=name,
        spool_dir=entry.spool_dir or config.data_dir / "spool" / name,
        router=NamespaceRouter(entry.namespace, list(entry.namespace_rules)),
        options=opts,
        state=state,
        data_dir=config.data_dir,
        require_alias=entry.type == "opensearch" and not getattr(entry, "use_data_stream", True),
    )


__all__: list[str] = ["ClusterSink", "NamespaceRouter", "SinkOptions", "build_cluster_sink", "target_name"]
