"""One small client interface over the official ``elasticsearch`` 8.x client and ``opensearch-py``.

Why two libraries: the Elasticsearch client refuses servers that are not Elasticsearch (its
product check), and OpenSearch speaks an older dialect, so each cluster gets its own official client.
Everything above this module (spool, sender, setup) is shared and sees only :class:`ClusterClient`:

* :meth:`ClusterClient.bulk` sends a ready NDJSON body and returns the per-item results, or raises
  :class:`Transient` (retry the whole request later) or :class:`Rejected` (the request itself is
  refused: 400/413; split it to find the culprit).
* :meth:`ClusterClient.request` is a plain JSON request for ``elastic setup`` and index bootstrap.

Retries are ours, not the libraries': both clients are built with ``max_retries=0`` because their
own retries have no backoff, and the sender needs to see every failure to back off with jitter.

Secrets (API key, password) come from the environment through the config's ``*_env`` keys; they
are handed to the client library and to :func:`~wafpipe.errors.redact` (the one redaction of
wafpipe), which every message we log or raise passes through, so neither a log line nor an exception
can carry them. Credentials written into a host URL (``https://user:pass@host``) are hidden the same
way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from wafpipe.errors import redact

if TYPE_CHECKING:
    from wafpipe.sinks.elasticsearch.config import ElasticsearchSinkConfig, OpenSearchSinkConfig

# Per-item errors that no retry can fix: the document does not fit the mapping.
MAPPING_ERRORS = frozenset({
    "document_parsing_exception", "mapper_parsing_exception", "strict_dynamic_mapping_exception",
    "illegal_argument_exception", "mapper_exception", "x_content_parse_exception", "parsing_exception",
    "json_parse_exception",
})
# Statuses that say "later": overload, unavailability, and access problems an operator fixes
# (while the data waits in the spool rather than being dead-lettered).
TRANSIENT_STATUSES = frozenset({401, 403, 408, 429})
# An operator's hold on the target, not a fault of the document: a closed index, a write block
# (``index.blocks.write``, the flood-stage watermark's read-only block). Held and retried until lifted.
OPERATOR_HOLDS = frozenset({"index_closed_exception", "cluster_block_exception"})


class Transient(Exception):
    """The whole request failed in a way that retrying later can fix."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Rejected(Exception):
    """The cluster refused the request as such (400, 413): retrying it unchanged cannot help."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def error_reason(error: Any) -> str:
    """Elasticsearch's own words for an item or request error: ``type: reason (caused by …)``."""
    if not isinstance(error, dict):
        return str(error)
    text = f"{error.get('type', 'error')}: {error.get('reason', '')}".rstrip(": ")
    cause = error.get("caused_by")
    if isinstance(cause, dict):
        text += f" (caused by {cause.get('type', 'error')}: {cause.get('reason', '')})"
    return text


def item(raw: Any) -> dict[str, Any]:
    """``{"create": {...}}`` → the inner result."""
    return next(iter(raw.values())) if isinstance(raw, dict) and raw else {}


def classify(item: dict[str, Any]) -> str:
    """``ok`` | ``duplicate`` | ``retry`` | ``rejected`` | ``no_alias`` | ``unknown`` for one bulk item.

    ``retry`` is retried for as long as it takes (overload, unavailable shards, access an operator
    restores, a closed or write-blocked index an operator opens again). A per-item 500 is ``unknown`` rather than ``retry``: a cluster in trouble answers the
    whole request with 5xx, so an item-level 500 is more likely this document tripping a bug, and a
    bounded number of retries keeps one poison document from blocking the spool forever."""
    status = int(item.get("status", 0))
    if status in (200, 201):
        return "ok"
    error = item.get("error")
    etype = error.get("type", "") if isinstance(error, dict) else ""
    if status == 409:
        return "duplicate" if etype in ("version_conflict_engine_exception", "") else "unknown"
    if status > 500 or status in TRANSIENT_STATUSES or etype == "es_rejected_execution_exception" or etype in OPERATOR_HOLDS:
        return "retry"  # 503 unavailable_shards_exception, 429 rejected execution, …
    if status == 400 and etype in MAPPING_ERRORS:
        return "rejected"
    if status == 404 and etype == "index_not_found_exception" and "require_alias" in str(error):
        return "no_alias"
    return "unknown"


class ClusterClient(ABC):
    """What the sink and ``elastic setup`` need from a cluster."""

    kind = "cluster"

    def __init__(self, hosts: list[str], secrets: list[str]) -> None:
        self.secrets = [s for s in secrets if s]
        self.display = ", ".join(redact(h, self.secrets) for h in hosts) or "Elastic Cloud"

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    @abstractmethod
    def bulk(self, body: bytes) -> tuple[bool, list[Any]]:
        """(``errors`` flag, raw items) of the ``_bulk`` answer, items in request order, each
        ``{"create": {"status", "_id", "error"?}}``; see :func:`item`. When ``errors`` is false every
        item was created, which lets the sender skip looking at them."""

    @abstractmethod
    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, decoded body); raises :class:`Transient` when the cluster cannot be reached."""

    @abstractmethod
    def close(self) -> None: ...

    def _items(self, resp: Any) -> tuple[bool, list[Any]]:
        items = resp.get("items") if isinstance(resp, dict) else None
        if not isinstance(items, list):
            raise Transient("the _bulk answer has no items list")
        return bool(resp.get("errors", True)), items

    def _status_error(self, status: int, detail: str) -> Exception:
        msg = self.redact(f"{self.display}: HTTP {status}: {detail}"[:2000])
        if status in (400, 413):
            return Rejected(msg, status)
        return Transient(msg, status)


def _secret_parts(cfg: Any) -> tuple[str | None, str | None]:
    api_key = cfg.secret("api_key", required=False) if cfg.api_key_env else None
    password = cfg.secret("password", required=False) if cfg.password_env else None
    return api_key, password


class ElasticsearchClient(ClusterClient):
    """The official ``elasticsearch`` 8.x client (orjson serializer, no built-in retries)."""

    kind = "elasticsearch"

    def __init__(self, cfg: ElasticsearchSinkConfig) -> None:
        from elasticsearch import Elasticsearch
        from elasticsearch.serializer import NdjsonSerializer, OrjsonSerializer

        class RawNdjson(NdjsonSerializer):
            """Our bodies are ready NDJSON bytes: pass them through instead of copying them."""

            def dumps(self, data: Any) -> bytes:
                if isinstance(data, bytes) and data.endswith(b"\n"):
                    return data
                return super().dumps(data)

        api_key, password = _secret_parts(cfg)
        cloud_id = cfg.secret("cloud_id", required=False) if cfg.cloud_id_env else None
        super().__init__(list(cfg.hosts), [api_key or "", password or ""])
        kw: dict[str, Any] = {
            "request_timeout": cfg.timeout_s, "max_retries": 0, "retry_on_status": (),
            "retry_on_timeout": False,
            "serializers": {"application/json": OrjsonSerializer(), "application/x-ndjson": RawNdjson()},
        }
        if cloud_id:
            kw["cloud_id"] = cloud_id
        else:
            kw["hosts"] = list(cfg.hosts)
        if api_key:
            kw["api_key"] = tuple(api_key.split(":", 1)) if ":" in api_key else api_key
        elif cfg.username:
            kw["basic_auth"] = (cfg.username, password or "")
        _tls(kw, cfg, "ca_certs")
        self._es = Elasticsearch(**kw)
        if cloud_id:
            self.display = ", ".join(n.base_url for n in self._es.transport.node_pool.all())

    def bulk(self, body: bytes) -> tuple[bool, list[Any]]:
        from elastic_transport import TransportError
        from elasticsearch import ApiError, UnsupportedProductError

        try:
            resp = self._es.bulk(operations=body)
        except UnsupportedProductError as exc:
            raise Transient(self.redact(
                f"{self.display} is not Elasticsearch ({exc}); use type = \"opensearch\" for OpenSearch")) from None
        except ApiError as exc:
            detail = _api_detail(exc.body, exc.message)
            if exc.meta.status == 406 or "compatible-with" in detail:
                detail += ' (the server does not speak Elasticsearch\'s media types: if it is OpenSearch, use type = "opensearch")'
            raise self._status_error(exc.meta.status, detail) from None
        except TransportError as exc:
            raise Transient(self.redact(f"{self.display}: {transport_text(exc)}")) from None
        return self._items(resp.body)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        from elastic_transport import TransportError
        from elasticsearch import ApiError

        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = "application/json"
        try:
            resp = self._es.perform_request(method, path, headers=headers, body=body)
        except ApiError as exc:
            return exc.meta.status, exc.body
        except TransportError as exc:
            raise Transient(self.redact(f"{self.display}: {transport_text(exc)}")) from None
        return resp.meta.status, resp.body

    def close(self) -> None:
        self._es.close()


class OpenSearchClient(ClusterClient):
    """``opensearch-py`` (basic auth, or an ``Authorization: ApiKey`` header for proxies that take one)."""

    kind = "opensearch"

    def __init__(self, cfg: OpenSearchSinkConfig) -> None:
        from opensearchpy import OpenSearch

        api_key, password = _secret_parts(cfg)
        super().__init__(list(cfg.hosts), [api_key or "", password or ""])
        kw: dict[str, Any] = {"hosts": list(cfg.hosts), "timeout": cfg.timeout_s, "max_retries": 0,
                              "retry_on_status": (), "retry_on_timeout": False}
        if api_key:
            kw["headers"] = {"Authorization": f"ApiKey {api_key}"}
        elif cfg.username:
            kw["http_auth"] = (cfg.username, password or "")
        _tls(kw, cfg, "ca_certs")
        self._os = OpenSearch(**kw)

    def bulk(self, body: bytes) -> tuple[bool, list[Any]]:
        from opensearchpy.exceptions import ConnectionError as OsConnectionError
        from opensearchpy.exceptions import OpenSearchException, TransportError

        try:
            resp = self._os.bulk(body=body)
        except OsConnectionError as exc:
            raise Transient(self.redact(f"{self.display}: {type(exc).__name__}: {exc.error}")) from None
        except TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else 0
            raise self._status_error(status, _api_detail(exc.info, str(exc.error))) from None
        except OpenSearchException as exc:  # e.g. a body that is not JSON
            raise Transient(self.redact(f"{self.display}: {type(exc).__name__}: {exc}")) from None
        return self._items(resp)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        from opensearchpy.exceptions import ConnectionError as OsConnectionError
        from opensearchpy.exceptions import TransportError

        try:
            resp = self._os.transport.perform_request(method, path, body=body)
        except OsConnectionError as exc:
            raise Transient(self.redact(f"{self.display}: {type(exc).__name__}: {exc.error}")) from None
        except TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else 0
            return status, exc.info
        return 200, resp

    def close(self) -> None:
        self._os.close()


def transport_text(exc: BaseException) -> str:
    """``Type: message``, plus the innermost cause (the libraries often say only "TLS error" and
    keep "certificate verify failed" in a chained exception)."""
    text = f"{type(exc).__name__}: {exc}"
    errors = getattr(exc, "errors", ())
    inner: BaseException | None = errors[0] if errors else (exc.__cause__ or exc.__context__)
    last = None
    for _ in range(8):
        if inner is None:
            break
        last, inner = inner, inner.__cause__ or inner.__context__
    if last is not None and str(last) not in text:
        text += f" (caused by {type(last).__name__}: {last})"
    return text


def _tls(kw: dict[str, Any], cfg: Any, ca_key: str) -> None:
    """TLS options only when set: verification stays on by default, and the libraries refuse TLS
    options on plain-http hosts."""
    if cfg.ca_file is not None:
        kw[ca_key] = str(cfg.ca_file)
    if not cfg.verify_certs:
        kw["verify_certs"] = False
        kw["ssl_show_warn"] = False
    if cfg.ssl_assert_fingerprint:
        kw["ssl_assert_fingerprint"] = cfg.ssl_assert_fingerprint.replace(":", "").lower()


def _api_detail(body: Any, fallback: str) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return error_reason(body["error"])
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    return (str(body) if body else fallback)[:500]


def make_client(cfg: ElasticsearchSinkConfig | OpenSearchSinkConfig) -> ClusterClient:
    """The right client for a ``[[sinks]]`` entry of type elasticsearch or opensearch."""
    if cfg.type == "opensearch":
        return OpenSearchClient(cfg)  # type: ignore[arg-type]
    return ElasticsearchClient(cfg)  # type: ignore[arg-type]
