"""``/export``: every event a search matches, streamed as NDJSON (whole documents) or CSV (chosen
columns), page by page with the search's ``after`` cursor, so a result of any size leaves in flat
memory. CSV cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR)
get a leading ``'``: attack payloads in the data stay data in Excel too."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from wafpipe.errors import QueryError, WafpipeError
from wafpipe.store.service import Reader
from wafpipe.web.render import page
from wafpipe.web.timerange import TimeRange

EXPORT_PAGE = 2000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    text = "" if value is None else value if isinstance(value, str) else orjson.dumps(value).decode()
    return f"'{text}" if text.startswith(FORMULA_START) else text


def add_export(app: FastAPI, reader: Reader, default_columns: tuple[str, ...]) -> None:
    @app.get("/export", include_in_schema=False)
    def export(request: Request, q: str = "", format: str = "ndjson", range: str | None = None,  # noqa: A002
               since: str | None = None, until: str | None = None, columns: str = "") -> Response:
        tr = TimeRange.parse(range, since, until)
        chosen = [c for c in columns.split(",") if c] or list(default_columns)
        if format not in ("ndjson", "csv"):
            return page(request, "error.html", status=400, error="format must be ndjson or csv")
        fields = chosen if format == "csv" else None
        try:  # the first page here, so that a bad query is an error page, not a broken download
            first = reader.search(q, limit=EXPORT_PAGE, since=tr.since, until=tr.until, fields=fields)
        except (QueryError, WafpipeError) as exc:
            return page(request, "error.html", status=400, error=str(exc))

        def pages() -> Iterator[dict[str, Any]]:
            found = first
            while True:
                yield found
                if not found["next"]:
                    return
                found = reader.search(q, limit=EXPORT_PAGE, since=tr.since, until=tr.until, fields=fields,
                                      after=found["next"])

        def ndjson() -> Iterator[bytes]:
            for found in pages():
                yield b"".join(orjson.dumps(e) + b"\n" for e in found["events"])

        def rows() -> Iterator[str]:
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["_id", *chosen])
            for found in pages():
                for e in found["events"]:
                    # the id is ours (URL-safe base64), never someone's formula: written as it is
                    writer.writerow([e.get("_id"), *(cell(e.get(c)) for c in chosen)])
                yield out.getvalue()
                out.seek(0)
                out.truncate()

        media = "application/x-ndjson" if format == "ndjson" else "text/csv; charset=utf-8"
        body = ndjson() if format == "ndjson" else rows()
        return StreamingResponse(body, media_type=media,
                                 headers={"content-disposition": f'attachment; filename="wafpipe-export.{format}"'})
