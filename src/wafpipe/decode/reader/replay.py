"""Dead-letter replay's way into the core: one recorded line of a file known only by its problem's
replay context, decoded again exactly as the read that met it would have (the same decoder state,
file fields and id), once its cause is fixed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
import pyarrow as pa

from wafpipe import _native
from wafpipe.decode.reader.file import line_problem
from wafpipe.enrich.useragent import parse_user_agent
from wafpipe.imperva.container import BodyLine
from wafpipe.model import Event, Problem


def decode_known_line(context: Mapping[str, Any], line: BodyLine, *, label: str) -> Event | Problem | None:
    """The event ``line`` gives now in the file ``context`` describes, the problem it still has, or
    None for a line without an event (a W3C directive). ``context`` is a problem's ``context``; a
    long line's full length and hash come from it. Raises ValueError for a context that is not one
    (no format, a bad identity)."""
    known = {k: v for k, v in context.items() if k not in ("full_length", "full_hash")}
    if line.full_length > 0:  # the line's own: a complete file read again may hold it whole or long
        known |= {"full_length": line.full_length, "full_hash": line.full_hash}
    run = _native.FileRun.replaying(orjson.dumps(known).decode(), user_agent=parse_user_agent)
    [(arrow, documents, _first, _next, problems)] = run.replay(
        ordinal=line.ordinal, line=line.line_no, offset=line.offset, raw=line.raw
    )
    if problems:
        return line_problem(problems[0], label)
    if not documents:
        return None
    [event_id] = pa.record_batch(arrow).column(0).to_pylist()
    return Event(event_id, None, documents[0])
