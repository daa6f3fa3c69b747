"""The Elasticsearch / OpenSearch sink: an fsync'd spool in front of a background bulk sender.

Why this shape (DESIGN §2): ``write`` must return only when a batch is durable, yet a cluster can be
slow or down for hours. So ``write`` serialises the batch into ``_bulk`` records, appends them to the
sink's spool (:mod:`wafpipe.sinks.common.spool`, fsync'd) and returns ``WriteResult(spooled=n)``; the
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

The spool is :mod:`wafpipe.sinks.common.spool`, the sender threads :mod:`wafpipe.sinks.elasticsearch.sender`, the
two client libraries behind one interface :mod:`wafpipe.sinks.elasticsearch.client`.

Documents get ``data_stream.{type,dataset,namespace}`` matching the target ``logs-imperva.waf-<ns>``;
the namespace comes from ``namespace_rules`` (account id, site id or site tag), else ``namespace``.
The event dicts themselves are not changed: other sinks see them as decoded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from wafpipe.errors import SinkError
from wafpipe.failpoints import failpoint
from wafpipe.fields import DATASET
from wafpipe.fields.arrow import column
from wafpipe.model import Batch
from wafpipe.sinks.base import Sink, WriteResult
from wafpipe.sinks.common.sending import SenderStats
from wafpipe.sinks.common.spool import Spool
from wafpipe.sinks.elasticsearch.client import ClusterClient
from wafpipe.sinks.elasticsearch.sender import Sender, SinkOptions

if TYPE_CHECKING:
    from wafpipe.model import Context, StateRecorder
    from wafpipe.sinks.elasticsearch.config import (
        ElasticsearchSinkConfig,
        NamespaceRule,
        OpenSearchSinkConfig,
    )



def target_name(namespace: str) -> str:
    """The data stream (or rollover alias) for a namespace: ``logs-imperva.waf-<namespace>``."""
    return f"logs-{DATASET}-{namespace}"


class NamespaceRouter:
    """First matching rule wins; ``imperva.waf.account.id`` / ``site.id`` / ``site.tag``."""

    _PATHS = {"account_id": "imperva.waf.account.id", "site_id": "imperva.waf.site.id", "site_tag": "imperva.waf.site.tag"}

    def __init__(self, default: str, rules: list[NamespaceRule] | None = None) -> None:
        self.default = default
        self.rules = [(self._PATHS[r.match], r.value, r.namespace) for r in rules or []]

    def namespaces(self) -> list[str]:
        """Every namespace this router can choose (for ``elastic setup``)."""
        return list(dict.fromkeys([self.default, *(ns for _, _, ns in self.rules)]))

    def route(self, batch: Batch) -> Iterable[str]:
        """The namespace of each event of ``batch``, read from its typed columns."""
        if not self.rules:
            return repeat(self.default, len(batch))
        out = [self.default] * len(batch)
        decided = [False] * len(batch)
        for path, value, namespace in self.rules:
            for i, got in enumerate(column(batch.events, path).to_pylist()):
                if not decided[i] and got is not None and str(got) == value:
                    out[i], decided[i] = namespace, True
        return out


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
        state: StateRecorder | None = None,
        require_alias: bool = False,
        engine: str = "elasticsearch",
    ) -> None:
        self.engine = engine  # "elasticsearch" | "opensearch": names its failpoints
        self.client = client
        self._name = name
        self.router = router
        self.opt = options or SinkOptions()
        self.spool = Spool(spool_dir, max_bytes=self.opt.spool_max_bytes, sync=self.opt.fsync)
        self.stats = SenderStats()
        self.require_alias = require_alias
        self._state = state
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._prefixes: dict[str, tuple[bytes, bytes]] = {}
        self._opened = False
        self.sender = Sender(name, client, self.spool, self.opt, self.stats, self._stop)

    @property  # type: ignore[override]
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:  # build_sinks renames sinks after building them
        self._name = self.sender.name = value

    # ------------------------------------------------------------------------------ Sink API
    def open(self) -> None:
        if self._opened:
            return
        self.sender.state = self._state
        self.spool.open()
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self.sender.run, name=f"{self.name}-sender-{i}", daemon=True)
            for i in range(max(1, self.opt.senders))
        ]
        for t in self._threads:
            t.start()
        self._opened = True

    def write(self, batch: Batch) -> WriteResult:
        if not len(batch):
            return WriteResult()
        if batch.documents is None:
            raise SinkError(f"{self.name}: the batch has no documents", hint="a cluster sink needs them (a bug)")
        self.open()
        self.spool.append(self._records(batch), timeout=self.opt.spool_block_timeout_s)
        failpoint(f"sink.{self.engine}.after_write")  # durable in the spool
        return WriteResult(spooled=len(batch))

    def _records(self, batch: Batch) -> Iterator[bytes | memoryview]:
        """The ``_bulk`` records of ``batch`` as byte pieces.

        Each source line is the decode worker's JSON document with ``data_stream`` appended before
        the closing brace, so this process neither parses nor serialises documents. The namespace
        comes from the Batch's typed columns (only when rules exist)."""
        assert batch.documents is not None
        namespaces = self.router.route(batch)
        dumps = orjson.dumps
        for event_id, document, namespace in zip(batch.ids, batch.documents, namespaces, strict=True):
            prefix, suffix = self._prefixes.get(namespace) or self._prefix(namespace)
            yield prefix + dumps(event_id) + b"}}\n"
            yield memoryview(document)[:-1]
            yield suffix

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


def build_cluster_sink(entry: ElasticsearchSinkConfig | OpenSearchSinkConfig, context: Context) -> ClusterSink:
    """A :class:`ClusterSink` for a ``[[sinks]]`` entry (secrets are read from the environment now,
    so a missing variable is a configuration error before anything starts)."""
    from wafpipe.sinks.elasticsearch.client import make_client

    name = entry.name or entry.type
    opts = SinkOptions(
        batch_size=entry.batch_size,
        max_retries=entry.max_retries,
        spool_max_bytes=entry.spool_max_bytes,
    )
    return ClusterSink(
        make_client(entry),
        name=name,
        spool_dir=entry.spool_dir or entry.default_spool_dir(context.data_dir),
        router=NamespaceRouter(entry.namespace, list(entry.namespace_rules)),
        options=opts,
        state=context.state,
        require_alias=entry.type == "opensearch" and not getattr(entry, "use_data_stream", True),
        engine=entry.type,
    )


__all__ = ["ClusterSink", "NamespaceRouter", "SinkOptions", "build_cluster_sink", "target_name"]
