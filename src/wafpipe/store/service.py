"""Read commands over the embedded store: ``wafpipe query`` and ``wafpipe deadletters replay``.

DuckDB allows one writer (DESIGN §2): when a collector runs, reads go through its local API;
otherwise the store is opened read-only here.
"""

from __future__ import annotations

import sys
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table
from rich.text import Text

from wafpipe.collector.api import find_running
from wafpipe.config.root import Config
from wafpipe.errors import WafpipeError
from wafpipe.sinks.duckdb import DEFAULT_STORE_NAME, DuckDBSinkConfig


def store_path(cfg: Config) -> Any:
    for s in cfg.sinks:
        if isinstance(s, DuckDBSinkConfig):
            return s.path or cfg.data_dir / DEFAULT_STORE_NAME
    if not cfg.sinks:
        return cfg.data_dir / DEFAULT_STORE_NAME
    raise WafpipeError("no duckdb sink is configured, so there is no embedded store to query")


def run_query(cfg: Config, expr: str, *, limit: int = 20, count: bool = False) -> dict[str, Any]:
    from wafpipe.store.query import compile_query

    where, params = compile_query(expr)  # errors surface before any I/O
    client = find_running(cfg.data_dir)
    if client is not None:
        try:
            return client.query(expr, limit, count)
        finally:
            client.close()
    from wafpipe.sinks.duckdb.sink import DuckDBSink

    path = store_path(cfg)
    if not path.exists():
        raise WafpipeError(f"no store at {path} yet; run `wafpipe run` first")
    store = DuckDBSink(path, read_only=True)
    try:
        store.open()
    except Exception as exc:  # duckdb.IOException when another process holds the lock
        raise WafpipeError(
            f"cannot open {path} read-only: {exc}. Is a collector running without its API file?"
        ) from None
    try:
        if count:
            return {"count": store.count(where, params)}
        return {"events": [{"_id": e.id, **e.doc} for e in store.search(where, params, limit=limit)]}
    finally:
        store.close()


def _get(doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    for p in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(p)
    return node


COLUMNS = (
    "@timestamp",
    "event.kind",
    "source.ip",
    "http.request.method",
    "url.domain",
    "url.path",
    "http.response.status_code",
    "imperva.waf.action",
    "imperva.waf.attack_type",
)


def print_events(events: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "ndjson":
        out = sys.stdout.buffer
        for e in events:
            out.write(orjson.dumps(e) + b"\n")
        out.flush()
        return
    table = Table(show_lines=False)
    for c in COLUMNS:
        table.add_column(c, overflow="fold")
    for e in events:
        # Text(), never markup: attack payloads such as "[script]" are data, not formatting.
        table.add_row(*(Text("" if _get(e, c) is None else str(_get(e, c))) for c in COLUMNS))
    Console(highlight=False).print(table)


def replay_dead_letters(cfg: Config, kind: str | None) -> tuple[int, int]:
    """Decode dead-lettered raw lines again and store those that now decode, with the ids they
    would have had (file identity from the state, the line's ordinal)."""
    from wafpipe.collector.state.store import State
    from wafpipe.decode.cef import decode_cef
    from wafpipe.decode.ids import event_id
    from wafpipe.decode.leef import decode_leef
    from wafpipe.decode.mapping import FileContext, to_ecs
    from wafpipe.errors import DecodeError
    from wafpipe.model import Context
    from wafpipe.sinks.base import Event
    from wafpipe.sinks.registry import build_sinks

    if find_running(cfg.data_dir) is not None:
        raise WafpipeError("a collector is running; stop it before replaying dead letters")
    replayed, still_bad = 0, 0
    with State(cfg.data_dir) as state:
        records = state.list_dead_letters(limit=1_000_000, kind=kind)
        sinks = build_sinks(cfg, Context(cfg.data_dir, state=state))
        for s in sinks:
            s.open()
        try:
            done: list[int] = []
            for rec in records:
                raw = rec.record.get("raw")
                ordinal = rec.record.get("ordinal")
                file_rec = state.get_file(rec.file_key) if rec.file_key else None
                if not isinstance(raw, str) or ordinal is None or file_rec is None or not file_rec.identity:
                    still_bad += 1
                    continue
                try:
                    record = decode_leef(raw) if raw.lstrip().startswith("LEEF:") else decode_cef(raw)
                except DecodeError:
                    still_bad += 1
                    continue
                doc = to_ecs(record, FileContext(name=file_rec.name, path=file_rec.path), original=raw)
                ev = Event(event_id(bytes.fromhex(file_rec.identity), int(ordinal), raw.encode()), doc)
                for s in sinks:
                    s.write([ev])
                done.append(rec.id)
                replayed += 1
            state.mark_replayed(done)
        finally:
            for s in sinks:
                s.close()
    return replayed, still_bad
