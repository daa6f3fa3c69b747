"""``wafpipe elastic setup`` as a user runs it: a subprocess against the local test servers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.servers.elasticsearch import ElasticsearchServer
from tests.servers.kibana import KibanaServer


def setup(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wafpipe.cli", "elastic", "setup", "-c", "wafpipe.toml", *args],
                          cwd=root, capture_output=True, text=True, timeout=120)


def test_setup_dry_run_then_real_then_unchanged(tmp_path: Path) -> None:
    with ElasticsearchServer() as es, KibanaServer() as kb:
        (tmp_path / "wafpipe.toml").write_text(
            f'[[sinks]]\ntype = "elasticsearch"\nhosts = ["{es.url}"]\nnamespace = "prod"\n'
            f'[kibana]\nurl = "{kb.url}"\n'
        )
        before = sum(es.request_counts().values())
        res = setup(tmp_path, "--dry-run")
        assert res.returncode == 0, res.stderr
        assert "PUT" in res.stdout and "_index_template" in res.stdout
        writes = [m for m, *_ in es.request_log() if m in ("PUT", "POST", "DELETE")]
        assert writes == [] and sum(es.request_counts().values()) >= before
        res = setup(tmp_path)
        assert res.returncode == 0, res.stderr
        client = es.client()
        tpl = client.indices.get_index_template(name="logs-imperva.waf")["index_templates"][0]["index_template"]
        assert tpl["index_patterns"] == ["logs-imperva.waf-*"] and tpl["priority"] > 100
        assert kb.saved_objects("dashboard")
        res = setup(tmp_path)
        assert res.returncode == 0 and "unchanged" in res.stdout


def test_setup_without_kibana_says_skipped(tmp_path: Path) -> None:
    with ElasticsearchServer() as es:
        (tmp_path / "wafpipe.toml").write_text(f'[[sinks]]\ntype = "elasticsearch"\nhosts = ["{es.url}"]\n')
        res = setup(tmp_path)
        assert res.returncode == 0, res.stderr
        assert "skipped" in res.stdout.lower() and "kibana" in res.stdout.lower()
