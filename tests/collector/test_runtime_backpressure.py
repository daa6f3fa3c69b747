"""A full cluster spool is back-pressure, never a stop (issue 18, "Robustness of the runtime"), and
the end of ``--once`` with events still spooled is exit 3 with words that say so.

The Elasticsearch stand-in (tests/servers) runs in this process; the collector runs as
``wafpipe run`` in its own process group, with a DuckDB sink and an Elasticsearch sink whose spool
holds 1 MiB (the smallest allowed).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.collector.helpers import distinct_ids, generate_mix, wafpipe, write_config
from tests.collector.test_operations import health
from tests.collector.test_runtime import (
    DEADLINE_S,
    assert_no_traceback,
    files_by_status,
    running,
    start,
    stderr_of,
    wait_for,
)
from tests.servers.elasticsearch import ElasticsearchServer
from tests.servers.fixtures import es_server  # noqa: F401 - the fixture

DS = "logs-imperva.waf-default"


def es_config(root: Path, es: ElasticsearchServer, **pipeline: object) -> None:
    extra = f"""
[[sinks]]
type = "elasticsearch"
hosts = ["{es.url}"]
spool_max_bytes = 1048576
batch_size = 200
"""
    write_config(root, workers=2, batch_size=200, extra=extra)
    if pipeline:
        text = (root / "wafpipe.toml").read_text()
        for key, value in pipeline.items():
            text = text.replace("[pipeline]\n", f"[pipeline]\n{key} = {value}\n")
        (root / "wafpipe.toml").write_text(text)
    res = wafpipe("elastic", "setup", "-c", "wafpipe.toml", cwd=root, timeout=DEADLINE_S)
    assert res.returncode == 0, res.stderr


def top_health(root: Path) -> dict[str, object]:
    """All of ``/api/health`` (the read service's answer, the collector's part inside)."""
    import json

    import httpx

    info = json.loads((root / "data" / "api.json").read_text())
    token = (root / "data" / "api.token").read_text().strip()
    res = httpx.get(f"{info['url']}/api/health", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert res.status_code == 200, res.text
    return res.json()  # type: ignore[no-any-return]


def spool_problem(root: Path) -> str | None:
    h = health(root)
    hit = [p for p in h["problems"] if "spool of sink elasticsearch is full" in p]
    return hit[0] if hit and h["status"] == "degraded" else None


def test_full_spool_holds_the_collector_back_and_it_resumes_when_the_cluster_returns(
        tmp_path: Path, es_server: ElasticsearchServer) -> None:  # noqa: F811
    es = es_server
    es_config(tmp_path, es)
    total = generate_mix(tmp_path, scale=2)  # 2,800 events: several MiB of _bulk records
    es.down()
    with running(start(tmp_path)) as proc:
        wait_for("the API", lambda: (tmp_path / "data" / "api.json").exists(), proc=proc, root=tmp_path)
        reason = wait_for("health to report the full spool", lambda: spool_problem(tmp_path), proc=proc, root=tmp_path)
        assert "not taking new files until it drains" in str(reason)
        wait_for("health to say the sink is behind", lambda: any(
            "sink elasticsearch is behind" in p for p in health(tmp_path)["problems"]), proc=proc, root=tmp_path)
        top = top_health(tmp_path)
        assert top["status"] == "degraded"
        # Listed once: the collector's live line, not again from the state's ``backpressure`` row.
        full = [p for p in top["problems"] if "spool of sink elasticsearch is full" in str(p)]  # type: ignore[attr-defined]
        assert len(full) == 1 and str(full[0]).startswith("back-pressure: the spool of sink elasticsearch is full"), top
        assert "problems" not in top["collector"], top  # type: ignore[operator]
        # Held, not stopped: work is left, the process runs, the embedded store is not ahead by
        # more than what the spool took.
        statuses = files_by_status(tmp_path)
        assert statuses.get("done", 0) < 16, statuses
        assert proc.poll() is None
        err = stderr_of(tmp_path)
        assert "taking no new files until it drains (back-pressure)" in err
        es.up()
        wait_for("every file done", lambda: files_by_status(tmp_path).get("done", 0) == 16, proc=proc, root=tmp_path)
        wait_for("every event in the cluster", lambda: len(es.document_ids(DS)) >= total, proc=proc, root=tmp_path)
        wait_for("health without the spool problem", lambda: spool_problem(tmp_path) is None, proc=proc, root=tmp_path)
        assert "spool has room again" in stderr_of(tmp_path)
        top = top_health(tmp_path)
        assert not any("back-pressure" in str(p) or "backpressure" in str(p)
                       for p in top["problems"]), top  # type: ignore[attr-defined]
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=DEADLINE_S) == 0
    assert_no_traceback(stderr_of(tmp_path))
    ids = es.document_ids(DS)
    assert len(ids) == len(set(ids)) == total
    assert distinct_ids(tmp_path) == (total, total)


def test_once_with_the_cluster_down_exits_3_and_says_spooled_undelivered(
        tmp_path: Path, es_server: ElasticsearchServer) -> None:  # noqa: F811
    es = es_server
    es_config(tmp_path, es, drain_timeout_s=1)
    from tests.filebuilder import make_file, sample_lines

    (tmp_path / "incoming" / "1_1.log").write_bytes(make_file(sample_lines(300), header={"startTime": "1"}))
    es.down()
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, timeout=DEADLINE_S)
    assert res.returncode == 3, res.stderr
    last = res.stderr.splitlines()[-1]
    assert "duckdb: stored 300" in last
    assert "elasticsearch: spooled 300 (undelivered" in last and "wait in the spool" in last
    assert_no_traceback(res.stderr)
    es.up()
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, timeout=DEADLINE_S)
    assert res.returncode == 0, res.stderr
    assert "elasticsearch: spooled 0, delivered 300" in res.stderr.splitlines()[-1]
    assert len(set(es.document_ids(DS))) == 300


def test_documents_the_cluster_refuses_are_one_warning_per_bulk_answer_not_per_document(
        tmp_path: Path, es_server: ElasticsearchServer) -> None:  # noqa: F811
    es = es_server
    es_config(tmp_path, es)
    from tests.filebuilder import make_file, sample_lines

    (tmp_path / "incoming" / "1_1.log").write_bytes(make_file(sample_lines(300), header={"startTime": "1"}))
    es.faults.bulk_item_failures(1.0, (400,), seed=1)  # every document: a mapping error
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, timeout=DEADLINE_S)
    assert res.returncode == 1, res.stderr  # dead-lettered: a data problem
    warnings = [x for x in res.stderr.splitlines() if "dead-lettered" in x]
    assert 1 <= len(warnings) <= 2, "\n".join(warnings[:10])  # 300 documents, bulk requests of 200
    assert "problems sink_rejected 300" in res.stderr.splitlines()[-1]
    assert_no_traceback(res.stderr)


def test_once_gives_up_on_a_spool_that_stays_full_exits_3_and_leaves_the_rest(
        tmp_path: Path, es_server: ElasticsearchServer) -> None:  # noqa: F811
    """``--once`` must end: a spool still full after ``drain_timeout_s`` stops the run (exit 3), the
    files not finished stay for the next run, which completes them once the cluster is back."""
    es = es_server
    es_config(tmp_path, es, drain_timeout_s=2)
    total = generate_mix(tmp_path, scale=2)
    es.down()
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, timeout=DEADLINE_S)
    assert res.returncode == 3, res.stderr[-3000:]
    assert "taking no new files until it drains (back-pressure)" in res.stderr
    assert "giving up; what is left is read by the next run" in res.stderr
    assert "file(s) left: a sink's spool stayed full" in res.stderr
    assert "(undelivered" in res.stderr.splitlines()[-1]
    assert_no_traceback(res.stderr)
    assert files_by_status(tmp_path).get("done", 0) < 16
    es.up()
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path, timeout=DEADLINE_S)
    assert res.returncode == 0, res.stderr[-3000:]
    assert files_by_status(tmp_path) == {"done": 16}
    ids = es.document_ids(DS)
    assert len(ids) == len(set(ids)) == total
    assert distinct_ids(tmp_path) == (total, total)
