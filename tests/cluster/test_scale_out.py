"""Two collectors into one data stream of the real OpenSearch 2.19.6 node (issue 21, item 6).

DuckDB has one writer, so scaling past one machine means a cluster sink. Two ``wafpipe run --once``
processes, each with its own data dir and its own half of the input (as two hosts fed by a split
delivery would be), run at the same time into one stream. The stream must then hold exactly the
union of what ``wafpipe parse`` decodes from both halves: every id once, nothing missing, nothing
extra, and each collector reporting its own half delivered.

The two processes are started together and awaited; nothing depends on how they interleave.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from datetime import datetime
from pathlib import Path

from tests.cluster.conftest import WafpipeRunner, parsed, wafpipe_executable, write_config
from tests.servers.opensearch_node import OpenSearchNode
from wafpipe.tools.generate import generate_files

START, END = datetime.fromisoformat("2024-06-10T06:00:00+00:00"), datetime.fromisoformat("2024-06-10T07:00:00+00:00")
HANG_GUARD_S = 600  # a hang guard only
EVENTS_PER_SET = 250  # spread over 3 files; two sets per collector
DELIVERED = re.compile(r"opensearch: spooled (\d+), delivered (\d+)")


def test_two_collectors_on_disjoint_inputs_store_the_exact_union(
        tmp_path: Path, opensearch_node: OpenSearchNode, wafpipe: WafpipeRunner) -> None:
    namespace = f"ns{uuid.uuid4().hex[:12]}"
    stream = f"logs-imperva.waf-{namespace}"
    halves = []
    for i, fmts in enumerate((("cef", "w3c"), ("leef", "cef"))):
        incoming = tmp_path / f"host{i}" / "incoming"
        for j, fmt in enumerate(fmts):
            generate_files(incoming / fmt, events=EVENTS_PER_SET, files=3, fmt=fmt, attack_ratio=0.3, start=START, end=END,
                           seed=200 + 10 * i + j)
        halves.append(incoming)
    configs = [write_config(tmp_path / f"host{i}" / "wafpipe.toml", opensearch_node, namespace, incoming,
                            tmp_path / f"host{i}" / "data") for i, incoming in enumerate(halves)]
    wafpipe("elastic", "setup", "-c", configs[0])
    expected = [parsed(wafpipe, sorted(p for p in incoming.iterdir() if p.is_dir()), bad=False) for incoming in halves]

    procs = [subprocess.Popen([str(wafpipe_executable()), "run", "-c", str(cfg), "--once", "--workers", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
             for cfg in configs]
    outputs = [proc.communicate(timeout=HANG_GUARD_S) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-4000:]

    client = opensearch_node.client()
    try:
        client.indices.refresh(index=stream)
        answer = client.search(index=stream, body={"query": {"match_all": {}}, "size": 10000, "_source": False})
        stored = [hit["_id"] for hit in answer["hits"]["hits"]]
        assert len(stored) == len(set(stored)), "an event stored twice"
        union = [doc["_id"] for half in expected for doc in half]
        assert len(union) == len(set(union)) == 4 * EVENTS_PER_SET  # the halves are disjoint
        assert set(stored) == set(union)
        assert client.count(index=stream)["count"] == len(union)
        for half, (_, err) in zip(expected, outputs, strict=True):
            spooled, delivered = map(int, DELIVERED.findall(err)[-1])
            assert spooled == delivered == len(half), err[-2000:]
    finally:
        client.indices.delete_data_stream(name=stream, ignore=[404])
