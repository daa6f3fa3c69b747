"""Elasticsearch's error shapes.

A failed request answers ``{"error": {"root_cause": [...], "type": ..., "reason": ..., ...},
"status": N}``; a failed ``_bulk`` item carries only the inner ``{"type", "reason", ...}`` object.
:class:`EsError` is raised anywhere in the server and rendered by the HTTP layer or the bulk loop.
"""

from __future__ import annotations

from typing import Any


class EsError(Exception):
    def __init__(
        self,
        status: int,
        type_: str,
        reason: str | None,
        *,
        caused_by: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {type_}: {reason}")
        self.status = status
        self.type = type_
        self.reason = reason
        self.caused_by = caused_by
        self.extra = extra or {}

    def cause(self) -> dict[str, Any]:
        """The object a ``_bulk`` item carries under ``error``."""
        out: dict[str, Any] = {"type": self.type, "reason": self.reason, **self.extra}
        if self.caused_by is not None:
            out["caused_by"] = self.caused_by
        return out

    def body(self) -> dict[str, Any]:
        root = {"type": self.type, "reason": self.reason, **self.extra}
        return {"error": {"root_cause": [root], **self.cause()}, "status": self.status}


def illegal_argument(reason: str, **kw: Any) -> EsError:
    return EsError(400, "illegal_argument_exception", reason, **kw)


def resource_not_found(reason: str) -> EsError:
    return EsError(404, "resource_not_found_exception", reason)


def index_not_found(name: str, reason: str | None = None) -> EsError:
    return EsError(
        404,
        "index_not_found_exception",
        reason or f"no such index [{name}]",
        extra={"resource.type": "index_or_alias", "resource.id": name, "index_uuid": "_na_", "index": name},
    )


def validation_failed(problems: list[str]) -> EsError:
    text = "".join(f"{i}: {p};" for i, p in enumerate(problems, 1))
    return EsError(400, "action_request_validation_exception", f"Validation Failed: {text}")


def parse_failure(reason: str, caused_by: dict[str, Any] | None = None) -> EsError:
    return EsError(400, "x_content_parse_exception", reason, caused_by=caused_by)


def mapper_parsing(reason: str) -> EsError:
    return EsError(
        400,
        "mapper_parsing_exception",
        f"Failed to parse mapping: {reason}",
        caused_by={"type": "mapper_parsing_exception", "reason": reason},
    )


def rejected_execution(nbytes: int = 0) -> EsError:
    return EsError(
        429,
        "es_rejected_execution_exception",
        "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, "
        f"all_bytes=0, coordinating_operation_bytes={nbytes}, max_coordinating_and_primary_bytes=107374182]",
    )


def service_unavailable() -> EsError:
    return EsError(
        503,
        "cluster_block_exception",
        "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];",
    )


def java_list(items: list[str] | tuple[str, ...]) -> str:
    """Java's ``List.toString``: ``[a, b]``."""
    return "[" + ", ".join(items) + "]"


def java_value(value: Any) -> str:
    """How a parsed JSON value prints in a Java message (``Preview of field's value``)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return java_list([java_value(v) for v in value])
    return str(value)
