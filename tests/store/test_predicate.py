"""The Arrow evaluator of query trees (``store/query/predicate.py``) against the SQL one, row for
row: it runs the single-event rules in the decode workers, where DuckDB is not loaded, so any
difference would be an alert the store's own queries disagree with."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from tests.detect.events import web_event
from wafpipe.decode.batch import batch_of
from wafpipe.decode.reader import read_path
from wafpipe.detect import SHIPPED_RULES, load_paths, load_text
from wafpipe.detect.batch import BatchDetector
from wafpipe.detect.engine import alerting
from wafpipe.detect.model import Rule
from wafpipe.fields.arrow import ID
from wafpipe.store.query import compile_node, parse
from wafpipe.store.query.predicate import compile_predicate
from wafpipe.store.query.tree import Node
from wafpipe.store.schema import stored
from wafpipe.tools.generate import generate_files

# Values that tell evaluators apart: case (ASCII and not), LIKE's own characters, newlines,
# non-ASCII letters whose lower case differs in length, RE2's special characters.
ODD = [
    "UNION SELECT", "union%20select", "Union+Select", "x' OR 1=1", "SLEEP(5)", "a\nunion select", "%_\\",
    "İstanbul", "STRASSE", "straße", "ǅ", "ΣΑΣ", "σας", "../../etc/passwd", "..%2f..%2fetc", "<ScRiPt>",
    "${jndi:ldap://x}", "${JNDI:LDAP://X}", "169.254.169.254", "/.ENV", "/.env", "", "é", "É",
]


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> list[pa.RecordBatch]:
    """Generated traffic with attacks, and hand-made events carrying the odd values everywhere
    (record batches as the Batch holds them)."""
    out = tmp_path_factory.mktemp("generated")
    paths = generate_files(out, events=3000, files=1, attack_ratio=0.5, seed=7)
    got = [b.events for p in paths for b in read_path(p, batch_rows=1000).batches("k") if len(b)]
    odd = []
    for i, value in enumerate(ODD):
        odd.append(web_event(f"odd-{i}-q", query=value.replace(" ", "%20"), ip=f"192.0.2.{i % 3}"))
        odd.append(web_event(f"odd-{i}-p", path="/" + value.replace(" ", ""), ua=value or "-",
                             method=value.upper()[:8].replace(" ", "") or "GET", ip=f"192.0.2.{i % 3}"))  # fmt: skip
    got.append(batch_of(odd).events)
    return got


@pytest.fixture(scope="module")
def batches(events: list[pa.RecordBatch]) -> list[pa.RecordBatch]:
    """The same in the store's shape, which both evaluators read."""
    return [stored(e) for e in events]


def _shipped_rules() -> list[Rule]:
    return [d for d in alerting(load_paths(sorted(SHIPPED_RULES.glob("*.yml")))) if isinstance(d, Rule)]


def _sql_ids(batch: pa.RecordBatch, node: Node) -> set[str]:
    where, params = compile_node(node)
    with duckdb.connect() as con:
        con.register("events", batch)
        return {r[0] for r in con.execute(f'SELECT "{ID}" FROM events WHERE {where}', params).fetchall()}  # noqa: S608


def _arrow_ids(batch: pa.RecordBatch, node: Node) -> set[str]:
    predicate = compile_predicate(node)
    assert predicate is not None
    mask = predicate(batch)
    assert len(mask) == batch.num_rows and mask.null_count == 0
    return set(batch.column(ID).filter(mask).to_pylist())


def _agree(batches: list[pa.RecordBatch], node: Node) -> int:
    matched = 0
    for batch in batches:
        want = _sql_ids(batch, node)
        assert _arrow_ids(batch, node) == want
        matched += len(want)
    return matched


def test_every_shipped_single_event_rule_runs_without_duckdb_and_agrees_with_sql(
    batches: list[pa.RecordBatch],
) -> None:
    rules = _shipped_rules()
    assert len(rules) >= 14
    for rule in rules:
        assert compile_predicate(rule.tree) is not None, rule.title
    matched = {rule.title: _agree(batches, rule.tree) for rule in rules}
    assert sum(v > 0 for v in matched.values()) >= 8, matched  # the data exercises most of them


QUERIES = [
    'http.request.method:GET', "http.request.method:get", "http.request.method:(POST or PUT or GET)",
    "url.path:/login*", "url.path:*ETC*", "url.query:*union*", "user_agent.original:*firefox*",
    "url.path:/?tc/passwd", 'url.original:"/"', "http.response.status_code:200",
    "http.response.status_code >= 400", "http.response.status_code:[200 TO 299]",
    "http.response.status_code:{200 TO 404]", "http.response.status_code:(200 or 403 or 404)",
    "http.response.status_code <= 1.5", "url.query:*", "not url.query:*", "not http.request.method:GET",
    "imperva.waf.security_event:true", "imperva.waf.security_event:false",
    "url.path:*etc* and not http.request.method:POST", "(url.path:/x* or url.query:*or*) and source.port >= 0",
    "*",
]


@pytest.mark.parametrize("query", QUERIES)
def test_query_trees_agree_with_sql(batches: list[pa.RecordBatch], query: str) -> None:
    _agree(batches, parse(query))


SIGMA = """
title: {title}
id: 7f1f2a4c-0000-4000-8000-0000000000{n:02d}
status: test
logsource: {{category: webserver}}
detection:
  sel:
    {field}|{modifier}:
{values}
  condition: sel
level: low
"""


@pytest.mark.parametrize(
    ("field", "modifier", "values"),
    [
        ("cs-uri-query", "contains", ["union select", "SLEEP(", "%_", "ǅ", "σας"]),
        ("cs-uri-stem", "endswith", ["/.env", "passwd"]),
        ("cs-uri-stem", "startswith", ["/ADMIN", "/.."]),
        ("c-useragent", "contains|all", ["mozilla", "firefox"]),
        ("cs-uri-query", "re", ["(?i)union.+select", "sleep\\(\\d+\\)"]),
        ("cs-method", "contains", ["ET"]),
        # one value: DuckDB's ILIKE (both sides lower-cased), not RE2's case folding
        ("cs-uri-query", "contains", ["σας"]),
        ("cs-uri-query", "contains", ["ǆ"]),
        ("c-useragent", "contains", ["i̇stanbul"]),
        ("cs-uri-stem", "endswith", ["straße"]),
    ],
)
def test_sigma_modifiers_agree_with_sql(batches: list[pa.RecordBatch], field: str, modifier: str,
                                        values: list[str]) -> None:  # fmt: skip
    listed = "\n".join(f"      - '{v}'" for v in values)
    text = SIGMA.format(title=f"{field} {modifier}", n=len(values), field=field, modifier=modifier, values=listed)
    [rule] = [d for d in load_text(text) if isinstance(d, Rule)]
    _agree(batches, rule.tree)


@pytest.mark.parametrize(
    "query",
    ['related.ip:"192.0.2.1"', 'source.ip:"10.0.0.0/8"', '@timestamp >= "2024-01-01"', "SELECT",
     "imperva.waf.request_headers.Accept:x", "event.dataset:imperva.waf"],
)
def test_what_it_cannot_evaluate_is_left_to_sql(query: str) -> None:
    assert compile_predicate(parse(query)) is None


def test_findings_are_the_same_whichever_evaluator_runs_a_rule(events: list[pa.RecordBatch],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    rules = _shipped_rules()
    arrow = BatchDetector(list(rules))
    assert arrow._sql is None  # no DuckDB for the shipped rules
    monkeypatch.setattr("wafpipe.detect.batch.compile_predicate", lambda node: None)
    sql = BatchDetector(list(rules))
    try:
        found = 0
        for batch in events:
            got = [f.record() for f in arrow.findings(batch)]
            assert got == [f.record() for f in sql.findings(batch)]
            found += len(got)
        assert found > 10
    finally:
        sql.close()


def test_a_rule_it_cannot_evaluate_still_runs_in_duckdb(events: list[pa.RecordBatch]) -> None:
    text = SIGMA.format(title="free text", n=99, field="cs-uri-query", modifier="contains", values="      - 'union'")
    text = text.replace("    cs-uri-query|contains:\n      - 'union'", "    - 'union'")
    rules = [d for d in load_text(text) if isinstance(d, Rule)]
    detector = BatchDetector(rules)
    assert detector._sql is not None and not detector._predicates
    try:
        assert any(detector.findings(b) for b in events)
    finally:
        detector.close()
