"""The one HTTP app (DESIGN §4): ``/api/*`` mapped one to one onto the read service, and ``/metrics``.

Each ``/api`` route takes its arguments as query parameters with the read service's names and
passes them on as text; the service checks and converts them (:mod:`wafpipe.store.limits`,
:mod:`wafpipe.store.params`), so a wrong value gets the same message over HTTP as in the
terminal. Routes are ``async`` and run the blocking read in a worker thread from a small pool
(:data:`READ_THREADS`), so idle or slow connections cost no thread and reads cannot multiply.

Errors are answers, never tracebacks: a query or argument error is 400
``{"error", "column", "kind"}``; a read stopped at a bound is 400 (``timeout``, ``memory``) or 503
(``busy``, with ``Retry-After``); a missing store or state is 503; an unknown event is 404. Only a
bug in our code is logged with its traceback, and the client still gets a one-line 500.
Two routes change something: ``POST /api/deadletters/replay``, run by the collector's own loop
(:mod:`wafpipe.collector.jobs`), and ``POST /api/alerts/ack``. The UI of ``wafpipe serve`` adds its pages to this same app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import anyio
import orjson
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from wafpipe.errors import QueryError, WafpipeError
from wafpipe.store.query.wire import from_json
from wafpipe.store.runner import ReadLimitError
from wafpipe.store.service import Reader

log = logging.getLogger("wafpipe.collector.api")

READ_THREADS = 4
MAX_BODY_BYTES = 1 << 20  # a request body (a query tree): far above any rule, far below harm
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _json(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(obj, default=str), status_code=status, media_type="application/json", headers=headers)


def error_response(exc: BaseException) -> Response:
    """The answer for an exception a read raised (see the module docstring)."""
    if isinstance(exc, ReadLimitError):
        status = 503 if exc.kind == "busy" else 400
        headers = {"Retry-After": "1"} if exc.kind == "busy" else None
        return _json({"error": str(exc), "column": None, "kind": exc.kind}, status, headers)
    if isinstance(exc, QueryError):
        return _json({"error": str(exc), "column": exc.column or None, "kind": "query"}, 400)
    if isinstance(exc, WafpipeError):
        return _json({"error": str(exc), "kind": "unavailable"}, 503)
    log.error("API: unexpected error", exc_info=exc)
    return _json({"error": "internal error; the collector's log has the details", "kind": "internal"}, 500)


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    low = value.strip().lower()
    if low in ("1", "true", "yes"):
        return True
    if low in ("0", "false", "no"):
        return False
    raise QueryError(f"expected true or false, got {value[:20]!r}")


def create_app(reader: Reader, metrics: Callable[[], bytes], *,
               replay: Callable[[str | None], Mapping[str, Any]] | None = None,
               ack: Callable[[list[int]], int] | None = None) -> FastAPI:  # fmt: skip
    """The app without its guard (:class:`~wafpipe.collector.api.guard.Guard` wraps it)."""
    # The /api routes described by FastAPI's OpenAPI schema (behind the token like every route).
    app = FastAPI(title="wafpipe", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    limiter: list[anyio.CapacityLimiter] = []

    async def call(fn: Callable[..., Any], **kwargs: Any) -> Response:
        if not limiter:
            limiter.append(anyio.CapacityLimiter(READ_THREADS))
        try:
            result = await anyio.to_thread.run_sync(partial(fn, **kwargs), limiter=limiter[0])
        except Exception as exc:  # noqa: BLE001 - every failure becomes an answer
            return error_response(exc)
        if result is None:
            return _json({"error": "no such event", "kind": "not_found"}, 404)
        return _json(result)

    @app.get("/api/health")
    async def health() -> Response:
        return await call(reader.health)

    @app.get("/api/search")
    async def search(
        q: str = "",
        limit: str = "100",
        offset: str = "0",
        since: str | None = None,
        until: str | None = None,
        fields: str | None = None,
        newest_first: str | None = None,
        after: str | None = None,
    ) -> Response:
        try:
            newest = _flag(newest_first, True)
        except QueryError as exc:
            return error_response(exc)
        return await call(
            reader.search, q=q, limit=limit, offset=offset, since=since, until=until,
            fields=fields.split(",") if fields else None, newest_first=newest, after=after,
        )

    @app.get("/api/count")
    async def count(q: str = "", since: str | None = None, until: str | None = None) -> Response:
        return await call(reader.count, q=q, since=since, until=until)

    @app.get("/api/top")
    async def top(
        field: str,
        q: str = "",
        since: str | None = None,
        until: str | None = None,
        limit: str = "10",
        by: str | None = None,
    ) -> Response:
        return await call(reader.top, field=field, q=q, since=since, until=until, limit=limit, by=by or None)

    @app.get("/api/histogram")
    async def histogram(
        q: str = "", since: str | None = None, until: str | None = None, interval: str | None = None,
        by: str | None = None,
    ) -> Response:
        return await call(reader.histogram, q=q, since=since, until=until, interval=interval, by=by or None)

    @app.get("/api/events/{event_id}")
    async def event(event_id: str) -> Response:
        return await call(reader.event, id=event_id)

    @app.get("/api/files")
    async def files(
        status: str | None = None, source: str | None = None, limit: str = "100", checksum: str | None = None
    ) -> Response:
        return await call(reader.files, status=status, source=source, limit=limit, checksum=checksum)

    @app.get("/api/deadletters")
    async def dead_letters(
        kind: str | None = None, limit: str = "100", include_replayed: str | None = None
    ) -> Response:
        try:
            replayed = _flag(include_replayed, False)
        except QueryError as exc:
            return error_response(exc)
        return await call(reader.dead_letters, kind=kind, limit=limit, include_replayed=replayed)

    @app.get("/api/alerts")
    async def alerts(limit: str = "100", include_acknowledged: str | None = None) -> Response:
        try:
            acknowledged = _flag(include_acknowledged, False)
        except QueryError as exc:
            return error_response(exc)
        return await call(reader.alerts, limit=limit, include_acknowledged=acknowledged)

    @app.post("/api/alerts/ack")
    async def acknowledge(ids: str = "") -> Response:
        """Acknowledge alerts (``ids=1,2``): ``{"acknowledged": n}``."""
        try:
            chosen = [int(i) for i in ids.split(",") if i.strip()][:1000]
        except ValueError:
            return error_response(QueryError("ids: comma-separated alert ids"))
        if ack is None:
            return _json({"error": "alerts are acknowledged in a running collector", "kind": "unavailable"}, 503)
        return await call(lambda: {"acknowledged": ack(chosen)})

    @app.post("/api/correlate")
    async def correlate(request: Request) -> Response:
        """The read service's ``correlate`` with its arguments as a JSON body: ``q`` is query text
        or a query tree (:mod:`wafpipe.store.query.wire`), as ``wafpipe detect`` sends a rule."""
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _json({"error": f"the body is over {MAX_BODY_BYTES} bytes", "kind": "query"}, 413)
        try:
            args = orjson.loads(body)
            if not isinstance(args, dict):
                raise QueryError("the body is a JSON object of correlate's arguments")
            q = args.pop("q", "")
            tree = from_json(q) if isinstance(q, dict) else str(q)
            steps = args.get("steps")
            if steps is not None:
                if not isinstance(steps, list) or len(steps) > 100:
                    raise QueryError("steps: a list of queries")
                args["steps"] = [from_json(s) if isinstance(s, dict) else str(s) for s in steps]
            known = {"group_by", "timespan_s", "threshold", "distinct", "strictly", "since", "until", "max_ids", "limit",
                     "kind", "steps", "history_s", "factor"}  # fmt: skip
            if set(args) - known:
                raise QueryError(f"unknown argument(s): {', '.join(sorted(set(args) - known))[:200]}")
        except orjson.JSONDecodeError:
            return error_response(QueryError("the body is not JSON"))
        except QueryError as exc:
            return error_response(exc)
        return await call(reader.correlate, q=tree, **args)

    @app.post("/api/deadletters/replay")
    async def replay_dead_letters(kind: str | None = None) -> Response:
        """Replay the live dead letters (of ``kind``) in the collector's loop; its report."""
        if replay is None:
            return _json({"error": "dead letters are replayed by a running collector", "kind": "unavailable"}, 503)
        if kind is not None and len(kind) > 40:
            return error_response(QueryError("kind: at most 40 characters"))
        return await call(replay, kind=kind or None)

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics(), media_type=METRICS_TYPE)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        missing = [str(e.get("loc", ["", "?"])[-1]) for e in exc.errors()]
        return _json({"error": f"missing or invalid parameter: {', '.join(missing)}", "column": None, "kind": "query"}, 400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = "no such endpoint" if exc.status_code == 404 else str(exc.detail)
        return _json({"error": message}, exc.status_code)

    return app
