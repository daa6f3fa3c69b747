"""wafpipe's own OpenSearch sink (``type = "opensearch"``, data-stream mode) against the real
OpenSearch 2.19.6 test node (issue 21, item 2).

``test_opensearch_node.py`` proves the templates and documents with opensearch-py's own bulk; here
everything reaches the node through wafpipe: ``wafpipe elastic setup`` installs the templates, the
collector (``wafpipe run --once``, a subprocess) ingests generated files of every format through the
sink's spool and sender, and one test drives the sink in-process with a hand-made batch to provoke a
mapping conflict. Expected numbers come from ``wafpipe parse`` of the same files, never from the node.

Every data stream is ``logs-imperva.waf-ns<hex>``, a namespace of its own, so the shared node's
other streams never interfere. Nothing waits for time to pass: the collector's ``--once`` returns
when its spool is delivered, the in-process sink is drained with ``flush`` (its timeout is only a
hang guard), and the stream is refreshed before it is counted.
"""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import OpenSearch

from tests.cluster.conftest import WafpipeRunner, parsed, source_ip_terms, source_ips, until, write_config
from tests.flatten import get_path
from tests.servers.opensearch_node import OpenSearchNode
from wafpipe.collector.state.store import State
from wafpipe.config.root import config_from_dict
from wafpipe.decode.batch import batch_of
from wafpipe.decode.reader import read_path
from wafpipe.model import Context, Event
from wafpipe.sinks.elasticsearch.sink import build_cluster_sink
from wafpipe.tools.generate import generate_files

FORMATS = ("cef", "leef", "w3c")
EVENTS = 200  # per format, in the good set and again in the --bad-input set (plus its broken files)
START, END = "2024-06-10T06:00:00+00:00", "2024-06-10T07:00:00+00:00"
TEMPLATE = "logs-imperva.waf"
# the kinds of dead letter a --bad-input file gives: lines that do not decode, a line cut by a truncated body
INPUT_DEAD_LETTERS = frozenset({"decode", "cut_line"})
SUMMARY = re.compile(r"^files done .*$", re.MULTILINE)
SINK_WORDS = re.compile(r"opensearch: spooled (\d+), delivered (\d+)(?: \((\d+) already there\))?(?:;|$)")
FLUSH_GUARD_S = 120.0  # a hang guard only: flush returns as soon as the spool is delivered


def new_namespace() -> str:
    return f"ns{uuid.uuid4().hex[:12]}"


def stream_of(namespace: str) -> str:
    return f"{TEMPLATE}-{namespace}"


# -- the command line and the node -----------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """What ``wafpipe run --once`` reported: its exit code and the numbers of its last line."""

    code: int
    summary: str
    events: int
    spooled: int
    delivered: int
    already: int
    problems: dict[str, int]


def collect(wafpipe: WafpipeRunner, config: Path) -> Run:
    """``wafpipe run -c CONFIG --once``; 1 (data problems) is an expected outcome for bad input."""
    proc = wafpipe("run", "-c", config, "--once", "--workers", "0", ok_codes=(0, 1))
    found = SUMMARY.findall(proc.stderr)
    assert found, f"no summary line in the collector's output:\n{proc.stderr[-4000:]}"
    summary = found[-1]
    events = re.search(r"; events (\d+)", summary)
    sink = SINK_WORDS.search(summary)
    assert events and sink, f"unexpected summary: {summary}"
    problems_text = re.search(r"; problems (.*)$", summary)
    problems = {}
    if problems_text:
        for part in problems_text.group(1).split(", "):
            kind, number = part.rsplit(" ", 1)
            problems[kind] = int(number)
    return Run(proc.returncode, summary, int(events.group(1)), int(sink.group(1)), int(sink.group(2)),
               int(sink.group(3) or 0), problems)


def dead_letters(wafpipe: WafpipeRunner, config: Path) -> list[dict[str, Any]]:
    proc = wafpipe("deadletters", "list", "-c", config, "--limit", "100000")
    return [json.loads(line) for line in proc.stdout.split("\n") if line.strip()]


def refreshed_count(client: OpenSearch, stream: str, query: dict[str, Any] | None = None) -> int:
    client.indices.refresh(index=stream)
    body = {"query": query} if query is not None else None
    return int(client.count(index=stream, body=body)["count"])


def stored_ids(client: OpenSearch, stream: str) -> list[str]:
    client.indices.refresh(index=stream)
    answer = client.search(index=stream, body={"query": {"match_all": {}}, "_source": False, "size": 10000})
    assert answer["hits"]["total"]["value"] < 10000, "too many documents for one page"
    return [hit["_id"] for hit in answer["hits"]["hits"]]


# -- the ingested data (one stream for tests 1, 2 and 4) --------------------------------------------------


@dataclass
class Ingested:
    node: OpenSearchNode
    namespace: str
    stream: str
    incoming: Path
    config: Path
    run: Run
    before: dict[str, Any]  # GET _data_stream/<stream> before the run: the node's answer (a 404 body)
    good: list[dict[str, Any]]  # documents of the valid sets, as `wafpipe parse` prints them
    bad: list[dict[str, Any]]  # documents `wafpipe parse` still decodes from the --bad-input sets

    @property
    def docs(self) -> list[dict[str, Any]]:
        return self.good + self.bad

    def client(self) -> OpenSearch:
        return self.node.client()


@pytest.fixture(scope="module")
def ingested(
    tmp_path_factory: pytest.TempPathFactory, opensearch_node: OpenSearchNode, wafpipe: WafpipeRunner
) -> Iterator[Ingested]:
    base = tmp_path_factory.mktemp("sink")
    incoming = base / "incoming"
    sets: dict[bool, list[Path]] = {False: [], True: []}
    for i, fmt in enumerate(FORMATS):
        for broken in (False, True):
            out = incoming / ("bad" if broken else "good") / fmt
            written = generate_files(
                out, events=EVENTS, fmt=fmt, attack_ratio=0.3, start=datetime.fromisoformat(START),
                end=datetime.fromisoformat(END), seed=40 + 2 * i + int(broken), bad_input=broken,
            )
            assert written and all(p.parent == out for p in written), written
            sets[broken].append(out)
    good = parsed(wafpipe, sets[False], bad=False)
    bad = parsed(wafpipe, sets[True], bad=True)

    namespace = new_namespace()
    stream = stream_of(namespace)
    config = write_config(base / "wafpipe.toml", opensearch_node, namespace, incoming, base / "data")
    proc = wafpipe("elastic", "setup", "-c", config)
    assert "index template logs-imperva.waf:" in proc.stdout, proc.stdout

    client = opensearch_node.client()
    before = client.indices.get_data_stream(name=stream, ignore=[404])
    run = collect(wafpipe, config)
    yield Ingested(opensearch_node, namespace, stream, incoming, config, run, before, good, bad)
    if opensearch_node.running:
        opensearch_node.client().indices.delete_data_stream(name=stream, ignore=[404])


# -- 1. setup, then the collector through the sink -------------------------------------------------------


def test_collector_run_creates_the_stream_and_stores_every_event_once(
    ingested: Ingested, wafpipe: WafpipeRunner
) -> None:
    """After ``elastic setup`` the stream does not exist; the collector's first write creates it from
    wafpipe's template, and it then holds exactly the events ``wafpipe parse`` decodes from the
    files — as many as the collector reports — with no document refused by the node."""
    assert ingested.before.get("status") == 404, ingested.before  # setup creates templates, no stream
    assert ingested.before["error"]["type"] == "index_not_found_exception"

    client = ingested.client()
    streams = client.indices.get_data_stream(name=ingested.stream)["data_streams"]
    assert [s["name"] for s in streams] == [ingested.stream]
    assert streams[0]["template"] == TEMPLATE
    assert streams[0]["generation"] == 1 and len(streams[0]["indices"]) == 1
    assert streams[0]["status"] == "GREEN"
    backing = streams[0]["indices"][0]["index_name"]
    mapping = client.indices.get_mapping(index=backing)[backing]["mappings"]["properties"]
    assert mapping["source"]["properties"]["ip"]["type"] == "ip"  # wafpipe's template, not dynamic mapping

    run = ingested.run
    expected = len(ingested.docs)
    assert len(ingested.good) == EVENTS * len(FORMATS)
    assert len(ingested.bad) > EVENTS * len(FORMATS)  # the broken files still hold decodable events
    # the collector decoded what `wafpipe parse` decodes, spooled it all and saw it created (no 409)
    assert (run.events, run.spooled, run.delivered, run.already) == (expected,) * 3 + (0,), run.summary
    assert refreshed_count(client, ingested.stream) == expected
    ids = stored_ids(client, ingested.stream)
    assert len(ids) == len(set(ids)) and set(ids) == {doc["_id"] for doc in ingested.docs}

    # exit 1 and the problems come from the --bad-input files alone: nothing was refused by the sink
    assert run.code == 1, run.summary
    assert "sink_rejected" not in run.problems, run.summary
    assert run.problems.get("decode", 0) > 0, run.summary
    letters = dead_letters(wafpipe, ingested.config)
    kinds = Counter(letter["kind"] for letter in letters)
    assert "sink_rejected" not in kinds, [x for x in letters if x["kind"] == "sink_rejected"][:3]
    assert set(kinds) <= INPUT_DEAD_LETTERS, kinds
    assert kinds == Counter({k: run.problems[k] for k in INPUT_DEAD_LETTERS if k in run.problems})
    bad_dir = str(ingested.incoming / "bad")
    assert all(str(letter["file"]).startswith(bad_dir) for letter in letters), "a valid file gave a dead letter"


# -- 2. replay: the same files, a fresh data_dir -----------------------------------------------------------


def test_replay_with_a_fresh_data_dir_is_409_for_every_document(
    ingested: Ingested, wafpipe: WafpipeRunner, tmp_path: Path
) -> None:
    """The collector's own state is gone, so every file is read and every event sent again: the node
    answers 409 to each create, which the sink counts as delivered (``already there``) — nothing is
    stored twice and nothing is dead-lettered. The valid files alone exit 0."""
    client = ingested.client()
    before = refreshed_count(client, ingested.stream)
    assert before == len(ingested.docs)

    # the valid sets: exit 0, every document already there
    good_config = write_config(tmp_path / "good.toml", ingested.node, ingested.namespace,
                               ingested.incoming / "good", tmp_path / "data-good")
    run = collect(wafpipe, good_config)
    assert run.code == 0, run.summary
    assert not run.problems, run.summary
    good = len(ingested.good)
    assert (run.events, run.spooled, run.delivered, run.already) == (good,) * 4, run.summary
    assert refreshed_count(client, ingested.stream) == before
    assert dead_letters(wafpipe, good_config) == []

    # every file, broken ones included: the same input problems as the first run, still no sink problem
    all_config = write_config(tmp_path / "all.toml", ingested.node, ingested.namespace, ingested.incoming,
                              tmp_path / "data-all")
    run = collect(wafpipe, all_config)
    total = len(ingested.docs)
    assert (run.events, run.spooled, run.delivered, run.already) == (total,) * 4, run.summary
    assert run.code == ingested.run.code == 1
    assert run.problems == ingested.run.problems, run.summary
    assert "sink_rejected" not in {letter["kind"] for letter in dead_letters(wafpipe, all_config)}
    assert refreshed_count(client, ingested.stream) == before
    streams = client.indices.get_data_stream(name=ingested.stream)["data_streams"]
    assert streams[0]["generation"] == 1


# -- 3. a mapping conflict in a batch of good documents ----------------------------------------------------


@pytest.mark.usefixtures("ingested")  # its `wafpipe elastic setup` installs the templates this stream takes
def test_a_mapping_conflict_is_dead_lettered_and_the_rest_delivered(
    opensearch_node: OpenSearchNode, tmp_path: Path
) -> None:
    """One document whose ``source.ip`` (type ip) holds ``999.1.1.1``, in the middle of one batch of
    valid documents, written through the sink in-process: the node refuses that item alone; the sink
    dead-letters it with the node's own reason and delivers the rest of the same bulk request."""
    paths = generate_files(tmp_path / "gen", events=60, fmt="leef", attack_ratio=0.3,
                           start=datetime.fromisoformat(START), end=datetime.fromisoformat(END), seed=77)
    events = [e for p in paths for e in read_path(p).items() if isinstance(e, Event)]
    assert len(events) == 60
    bad_id = f"bad-ip-{uuid.uuid4().hex[:8]}"
    bad = Event(bad_id, {**events[0].doc, "source": {"ip": "999.1.1.1"}})
    good = events[1:]
    batch = batch_of([*good[:30], bad, *good[30:]])

    namespace = new_namespace()
    stream = stream_of(namespace)
    entry = {"type": "opensearch", "hosts": [opensearch_node.url], "namespace": namespace}
    cfg = config_from_dict({"data_dir": str(tmp_path / "data"), "sinks": [entry]}, file=None, base_dir=tmp_path)
    state = State(cfg.data_dir)
    try:
        sink = build_cluster_sink(cfg.sinks[0], Context(cfg.data_dir, state=state))  # type: ignore[arg-type]
        try:
            sink.write(batch)
            assert sink.flush(FLUSH_GUARD_S), f"the spool was not delivered: {sink.stats}"
        finally:
            sink.close()
        # a bulk request resent after a client timeout (a very busy machine) finds the good documents
        # there already (409): delivered all the same; the conflict itself never splits the batch
        assert (sink.stats.written + sink.stats.duplicates, sink.stats.dead_lettered) == (len(good), 1)
        (dead,) = state.list_dead_letters(kind="sink_rejected")
        assert state.count_dead_letters() == 1
    finally:
        state.close()

    reason = dead.reason or ""
    assert "mapper_parsing_exception" in reason, reason
    assert "source.ip" in reason and "999.1.1.1" in reason, reason
    assert dead.record["id"] == bad_id
    assert dead.record["sink"] == "opensearch"
    assert dead.record["context"] == {"index": stream}

    client = opensearch_node.client()
    try:
        assert refreshed_count(client, stream) == len(good)
        assert set(stored_ids(client, stream)) == {e.id for e in good}
    finally:
        client.indices.delete_data_stream(name=stream, ignore=[404])


# -- 4. typed queries on what the sink wrote ---------------------------------------------------------------


def test_terms_aggregation_on_source_ip(ingested: Ingested) -> None:
    expected = source_ips(ingested.docs)
    assert len(expected) > 1, "the generated sets should hold several client addresses"
    client = ingested.client()
    client.indices.refresh(index=ingested.stream)
    got, left_out = source_ip_terms(client, ingested.stream, len(expected) + 10)
    assert got == expected
    assert left_out == 0
    # an ip field answers CIDR queries: the busiest address's /32 (or /128) counts exactly its documents
    top, top_count = expected.most_common(1)[0]
    prefix = 32 if ipaddress.ip_address(top).version == 4 else 128
    assert refreshed_count(client, ingested.stream, {"term": {"source.ip": f"{top}/{prefix}"}}) == top_count


def test_range_query_on_timestamp(ingested: Ingested) -> None:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)

    def millis(text: str) -> int:  # what a `date` field keeps: milliseconds, truncated
        return (datetime.fromisoformat(text.replace("Z", "+00:00")) - epoch) // timedelta(milliseconds=1)

    stamps = sorted(millis(doc["@timestamp"]) for doc in ingested.docs)
    low, high = stamps[len(stamps) // 4], stamps[3 * len(stamps) // 4]
    expected = sum(1 for s in stamps if low <= s < high)
    assert 0 < expected < len(stamps)
    client = ingested.client()
    query = {"range": {"@timestamp": {"gte": low, "lt": high, "format": "epoch_millis"}}}
    assert refreshed_count(client, ingested.stream, query) == expected
    everything = {"range": {"@timestamp": {"gte": stamps[0], "lte": stamps[-1], "format": "epoch_millis"}}}
    assert refreshed_count(client, ingested.stream, everything) == len(stamps)
    before = {"range": {"@timestamp": {"lt": stamps[0], "format": "epoch_millis"}}}
    assert refreshed_count(client, ingested.stream, before) == 0


def test_exists_query_on_security_event(ingested: Ingested) -> None:
    values = [get_path(doc, "imperva.waf.security_event") for doc in ingested.docs]
    present = sum(1 for v in values if v is not None and v != [])
    assert present > 0
    client = ingested.client()
    query = {"exists": {"field": "imperva.waf.security_event"}}
    assert refreshed_count(client, ingested.stream, query) == present
    attacks = sum(1 for v in values if v is True)
    assert 0 < attacks < len(values), "the generated sets should mix attacks and normal traffic"
    term = {"term": {"imperva.waf.security_event": True}}
    assert refreshed_count(client, ingested.stream, term) == attacks


# -- 5. the wrong client for the engine ---------------------------------------------------------------------


def test_an_elasticsearch_sink_pointed_at_opensearch_says_to_use_type_opensearch(
    opensearch_node: OpenSearchNode, tmp_path: Path
) -> None:
    """The Elasticsearch client refuses a server that is not Elasticsearch; the sink holds the events
    and its error names the setting that fixes it, instead of a bare product check failure."""
    paths = generate_files(tmp_path / "gen", events=5, fmt="cef", start=datetime.fromisoformat(START),
                           end=datetime.fromisoformat(END), seed=78)
    events = [e for p in paths for e in read_path(p).items() if isinstance(e, Event)]
    entry = {"type": "elasticsearch", "hosts": [opensearch_node.url], "namespace": new_namespace()}
    cfg = config_from_dict({"data_dir": str(tmp_path / "data"), "sinks": [entry]}, file=None, base_dir=tmp_path)
    state = State(cfg.data_dir)
    try:
        sink = build_cluster_sink(cfg.sinks[0], Context(cfg.data_dir, state=state))  # type: ignore[arg-type]
        try:
            sink.write(batch_of(events))
            until(lambda: 'type = "opensearch"' in (sink.stats.last_error or ""), "the error names the fix")
            assert sink.spool.pending_bytes > 0  # held, not dropped
        finally:
            sink.close()
    finally:
        state.close()
    assert sink.stats.written == 0 and sink.stats.dead_lettered == 0
