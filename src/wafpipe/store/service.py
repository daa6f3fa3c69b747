"""Read commands over the embedded store: ``wafpipe query`` and ``wafpipe deadletters replay``.

DuckDB allows one writer (DESIGN §2): when a collector runs, reads go through its local API;
otherwise the store is opened read-only here.
"""

from __future__ import annotations

from typing import Any

from wafpipe.config.root import Config
from wafpipe.errors import WafpipeError
from wafpipe.sinks.duckdb import DEFAULT_STORE_NAME, DuckDBSinkConfig
from wafpipe.store.client import find_running


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
