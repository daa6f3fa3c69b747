"""The run summary printed by ``wafpipe parse --summary`` and ``make run``: events by
kind, attacks by type and outcome, problems by kind, and example queries to try next."""

from __future__ import annotations

from collections import Counter
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

EXAMPLE_QUERIES = (
    'event.dataset:"imperva.waf" and imperva.waf.security_event:true',
    'rule.category:"SQL Injection" and event.outcome:failure',
    "source.geo.country_iso_code:CN and http.response.status_code >= 400",
    'user_agent.original:*bot* and not imperva.waf.action_class:blocked',
)


class Summary:
    def __init__(self) -> None:
        self.files = 0
        self.kinds: Counter[str] = Counter()
        self.attacks: Counter[tuple[str, str]] = Counter()
        self.formats: Counter[str] = Counter()
        self.problems: Counter[str] = Counter()

    def add_doc(self, doc: dict[str, Any]) -> None:
        event = doc.get("event", {})
        self.kinds[event.get("kind", "?")] += 1
        waf = doc.get("imperva", {}).get("waf", {})
        if waf.get("security_event"):
            self.attacks[(str(doc.get("rule", {}).get("category")), str(event.get("outcome")))] += 1

    def add_problem(self, kind: str) -> None:
        self.problems[kind] += 1

    def render(self, out: TextIO, *, queries: bool = True) -> None:
        console = Console(file=out, highlight=False, soft_wrap=True)
        total = sum(self.kinds.values())
        console.print(f"[bold]{total}[/bold] events from {self.files} file(s)")
        t = Table(title="events by kind")
        t.add_column("event.kind")
        t.add_column("count", justify="right")
        for kind, n in sorted(self.kinds.items()):
            t.add_row(Text(kind), str(n))
        console.print(t)
        if self.attacks:
            a = Table(title="attacks by type and outcome")
            a.add_column("attack type")
            a.add_column("outcome")
            a.add_column("count", justify="right")
            for (attack, outcome), n in sorted(self.attacks.items(), key=lambda kv: (-kv[1], kv[0])):
                a.add_row(Text(attack), Text(outcome), str(n))  # data, never markup
            console.print(a)
        if self.problems:
            p = Table(title="problems (see stderr / dead letters)")
            p.add_column("kind")
            p.add_column("count", justify="right")
            for kind, n in sorted(self.problems.items()):
                p.add_row(Text(kind), str(n))
            console.print(p)
        else:
            console.print("no problems: every line decoded and every checksum verified")
        if queries:
            console.print("\nexample queries:")
            for q in EXAMPLE_QUERIES:
                console.print(Text(f"  wafpipe query '{q}'"))
