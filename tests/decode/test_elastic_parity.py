"""Parity with Elastic's imperva_cloud_waf integration (the core issue's "Elastic parity").

For each event of Elastic's pipeline test, our document must match the expected document on at
least 95 % of the ECS leaves outside the agreed exclusion list. Fields on the list may differ; each
such difference is named and justified in docs/ecs-mapping.md (checked below too).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.flatten import leaves
from wafpipe import _native
from wafpipe.decode.reader import Problem, read_path
from wafpipe.enrich.useragent import parse_user_agent

ROOT = Path(__file__).resolve().parents[2]

EXCLUDED_EXACT = {
    "url.path",
    "url.extension",
    "url.original",
    "user_agent.version",
    "observer.vendor",
    "observer.product",
    "destination.process.name",
    "event.severity",
    "event.category",
    "event.type",
    "related.user",
    "source.user.id",
    "source.service.name",
    "source.bytes",
    "tags",
    "ecs.version",
    "@timestamp",
    "message",
}
EXCLUDED_PREFIXES = ("file.", "input.", "log.", "imperva_cloud_waf.")


def document(line: str) -> dict[str, Any]:
    """Our ECS document of one CEF line: the native core's mapping with an empty file context and
    the line as ``event.original`` (version 1's ``to_ecs(decode_cef(line), FileContext(),
    original=line)``)."""
    doc: dict[str, Any] = json.loads(_native.document("cef", line, parse_user_agent))
    return doc


def excluded(path: str) -> bool:
    return path in EXCLUDED_EXACT or path.startswith(EXCLUDED_PREFIXES)


def compare(ours: dict[str, Any], expected: dict[str, Any]) -> tuple[list[str], list[str]]:
    mine = leaves(ours)
    matched, missed = [], []
    for path, value in leaves(expected).items():
        if excluded(path):
            continue
        got = mine.get(path)
        if isinstance(value, list) and isinstance(got, list):
            ok = sorted(map(str, value)) == sorted(map(str, got))
        else:
            ok = got == value
        (matched if ok else missed).append(f"{path}: expected {value!r}, got {got!r}")
    return matched, missed


def test_each_pipeline_event_matches_elastic(conformance: Path) -> None:
    folder = conformance / "elastic-imperva-cloud-waf"
    events = json.loads((folder / "test-event.json").read_text())["events"]
    expected = json.loads((folder / "test-event.json-expected.json").read_text())["expected"]
    assert len(events) == len(expected) == 2
    for ev, exp in zip(events, expected, strict=True):
        line = ev["event"]["original"]
        doc = document(line)
        matched, missed = compare(doc, exp)
        rate = len(matched) / (len(matched) + len(missed))
        assert rate >= 0.95, f"parity {rate:.0%}; differing leaves:\n" + "\n".join(missed)


def test_parity_comparison_can_fail(conformance: Path) -> None:
    """The comparison itself notices a wrong value (guards against a vacuous parity test)."""
    folder = conformance / "elastic-imperva-cloud-waf"
    line = json.loads((folder / "test-event.json").read_text())["events"][0]["event"]["original"]
    exp = json.loads((folder / "test-event.json-expected.json").read_text())["expected"][0]
    doc = document(line)
    doc["source"]["ip"] = "192.0.2.1"
    doc["http"]["response"]["status_code"] = 500
    _, missed = compare(doc, exp)
    assert {m.split(":")[0] for m in missed} >= {"source.ip", "http.response.status_code"}


def test_whole_test_file_parses(conformance: Path) -> None:
    """Elastic's container test file (one event, placeholder checksum) parses as a whole file."""
    reader = read_path(conformance / "elastic-imperva-cloud-waf" / "test-events.log")
    items = list(reader.items())
    events = [i for i in items if not isinstance(i, Problem)]
    problems = [i for i in items if isinstance(i, Problem)]
    assert len(events) == 1
    assert [p.kind for p in problems] == ["checksum"]
    doc = events[0].doc
    assert doc["event"]["dataset"] == "imperva.waf"
    assert doc["source"]["ip"] == "12.12.12.12"
    assert doc["url"]["domain"] == "site123.abcd.info"
    assert doc["url"]["path"] == "/main.css"
    assert "header" not in doc["imperva"]["waf"]["file"]  # a fact of the file, kept once per file
    assert reader.info.facts()["header"]["configid"] == "12345"
    assert doc["imperva"]["waf"]["file"]["identity"] == reader.info.identity.hex()


def test_deliberate_differences_are_documented(conformance: Path) -> None:
    """Every excluded field where we differ from Elastic is named in docs/ecs-mapping.md."""
    text = (ROOT / "docs" / "ecs-mapping.md").read_text()
    folder = conformance / "elastic-imperva-cloud-waf"
    events = json.loads((folder / "test-event.json").read_text())["events"]
    expected = json.loads((folder / "test-event.json-expected.json").read_text())["expected"]
    for ev, exp in zip(events, expected, strict=True):
        line = ev["event"]["original"]
        mine = leaves(document(line))
        for path, value in leaves(exp).items():
            if path in EXCLUDED_EXACT and mine.get(path) != value and path not in ("tags", "@timestamp", "message", "ecs.version"):
                assert f"`{path}`" in text, f"{path} differs from Elastic but docs/ecs-mapping.md does not say why"
