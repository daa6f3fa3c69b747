"""KQL-style queries over the embedded store (DESIGN §4 ``wafpipe query``).

``compile_query('event.dataset:"imperva.waf" and http.response.status_code >= 500')`` returns a
``WHERE`` clause over the ``events`` table's typed columns, with ``?`` placeholders, and its
parameters. Named parts: :mod:`.parser` (text → tree), :mod:`.fields` (the allow-list: field name
→ the SQL of its column), :mod:`.sql` (tree → ``WHERE``), :mod:`.statements` (the statements of
the read service's operations around a ``WHERE``). :func:`caret` renders a
:class:`~wafpipe.errors.QueryError` under the query text.
"""

from __future__ import annotations

from wafpipe.errors import QueryError
from wafpipe.store.query.fields import FieldRef, allowed_fields, resolve, suggest
from wafpipe.store.query.parser import parse
from wafpipe.store.query.sql import compile_node, compile_query

__all__ = [
    "FieldRef",
    "QueryError",
    "allowed_fields",
    "caret",
    "compile_node",
    "compile_query",
    "parse",
    "resolve",
    "suggest",
]


def caret(expr: str, err: QueryError) -> str:
    """The query, a caret under the failing column, and the message — for a terminal or a page."""
    col = max(1, min(err.column or 1, len(expr) + 1))
    return f"{expr}\n{' ' * (col - 1)}^\n{err}"
