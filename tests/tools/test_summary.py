"""Attack payloads and names from the data are printed as text, never as rich markup."""

from __future__ import annotations

import io

from wafpipe.tools.summary import Summary


def test_markup_in_data_is_printed_verbatim() -> None:
    s = Summary()
    s.files = 1
    s.add_doc({"event": {"kind": "alert", "outcome": "failure"}, "rule": {"category": "IncapRules([bold red]x[/])"},
               "imperva": {"waf": {"security_event": True}}})
    s.add_problem("decode")
    out = io.StringIO()
    s.render(out)
    text = out.getvalue()
    assert "IncapRules([bold red]x[/])" in text
    assert "1 events from 1 file(s)" in text
