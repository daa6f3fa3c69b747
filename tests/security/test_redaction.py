"""A password inside a URL (``hosts``, ``[kibana] url``) is never echoed: not by configuration
errors, not by ``wafpipe elastic setup``, not in logs; a malformed URL is a configuration error
(exit 2, no traceback, no password). One redaction function does it: :func:`wafpipe.errors.redact`."""

from __future__ import annotations

import io
import json
import logging
import socket
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.cli.helpers import wafpipe, write_config
from tests.filebuilder import make_file, sample_lines
from wafpipe.cli.common import setup_logging
from wafpipe.errors import ConfigError, WafpipeError, redact

PW = "S3cretPw42"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config(root: Path, sink: str, kibana: str = "") -> None:
    write_config(root, extra=f'[[sinks]]\ntype = "elasticsearch"\n{sink}\n{kibana}')


def assert_clean(res: object) -> None:
    out = getattr(res, "stdout", "") + getattr(res, "stderr", "")
    assert PW not in out, out
    assert "Traceback" not in out, out


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"https://elastic:{PW}@es.example:9200", "https://***@es.example:9200"),
        (f"'http://u:{PW}@h' and https://other:9200/x", "'http://***@h' and https://other:9200/x"),
        (f"https://u:p@ss{PW}@h:1/", "https://***@h:1/"),  # an '@' inside the password
        ("no url here: user@example.com", "no url here: user@example.com"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert PW not in str(WafpipeError(text, hint=text))


def test_a_config_error_does_not_echo_the_password(tmp_path: Path) -> None:
    config(tmp_path, f'hosts = "https://elastic:{PW}@es.example:9200"')  # a string, not a list
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert "configuration error" in res.stderr and "sinks[1].hosts" in res.stderr
    assert "https://***@es.example:9200" in res.stderr
    assert_clean(res)


@pytest.mark.parametrize("url", [f"https://elastic:{PW}@es.example:99999", f"https://elastic:{PW}@es.example:port"])
def test_a_malformed_url_is_a_configuration_error(tmp_path: Path, url: str) -> None:
    config(tmp_path, f'hosts = ["{url}"]')
    for cmd in (("run", "--once"), ("elastic", "setup"), ("deadletters", "list")):
        res = wafpipe(*cmd, "-c", "wafpipe.toml", cwd=tmp_path)
        assert res.returncode == 2, (cmd, res.stderr)
        assert "configuration error" in res.stderr and "not a valid URL" in res.stderr, res.stderr
        assert "Port" in res.stderr
        assert_clean(res)


def test_kibana_url_credentials_are_not_in_the_config_error(tmp_path: Path) -> None:
    config(tmp_path, 'hosts = ["http://127.0.0.1:9200"]', f'[kibana]\nurl = "http://kib:{PW}@kibana.example:5601:1"\n')
    res = wafpipe("elastic", "setup", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 2 and "kibana.url" in res.stderr
    assert_clean(res)


def test_elastic_setup_output_hides_url_credentials(tmp_path: Path) -> None:
    es, kib = closed_port(), closed_port()
    config(tmp_path, f'hosts = ["http://elastic:{PW}@127.0.0.1:{es}"]',
           f'[kibana]\nurl = "http://kib:{PW}@127.0.0.1:{kib}"\n')
    res = wafpipe("elastic", "setup", "-c", "wafpipe.toml", "--dry-run", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert f"kibana (http://***@127.0.0.1:{kib})" in res.stdout
    assert f"POST http://***@127.0.0.1:{kib}/api/saved_objects/_import" in res.stdout
    assert f"(http://***@127.0.0.1:{es})" in res.stdout
    assert_clean(res)
    # Against clusters that are down, the failures name the URL, still without the password.
    res = wafpipe("elastic", "setup", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 1 and "FAILED" in res.stdout, res.stdout
    assert_clean(res)


def test_collector_logs_hide_url_credentials(tmp_path: Path) -> None:
    config(tmp_path, f'hosts = ["http://elastic:{PW}@127.0.0.1:{closed_port()}"]')
    cfg = tmp_path / "wafpipe.toml"
    cfg.write_text(cfg.read_text() + '[logging]\nlevel = "debug"\n')
    cfg.write_text(cfg.read_text().replace("batch_timeout_s = 0.5", "batch_timeout_s = 0.5\ndrain_timeout_s = 0"))
    (tmp_path / "incoming" / "1_1.log").write_bytes(make_file(sample_lines(5)))
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert res.returncode == 3, res.stderr  # the cluster is down
    assert "elastic" in res.stderr and "***@127.0.0.1" in res.stderr  # the start-up line names it
    assert_clean(res)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_every_log_line_is_redacted(fmt: str) -> None:
    """Whatever a component logs (message, arguments, traceback) leaves without URL credentials."""
    root = logging.getLogger("wafpipe")
    saved = (root.handlers[:], root.level, root.propagate)
    try:
        _log_and_check(fmt)
    finally:
        root.handlers[:], root.level, root.propagate = saved[0], saved[1], saved[2]


def _log_and_check(fmt: str) -> None:
    setup_logging(SimpleNamespace(logging=SimpleNamespace(format=fmt, level="info")))
    handler = logging.getLogger("wafpipe").handlers[0]
    buf = io.StringIO()
    handler.setStream(buf)  # type: ignore[attr-defined]
    log = logging.getLogger("wafpipe.test.redaction")
    log.warning("cannot reach %s", f"https://elastic:{PW}@es.example:9200")
    try:
        raise ConnectionError(f"refused by http://u:{PW}@h:1/_bulk")
    except ConnectionError:
        log.exception("send failed")
    text = buf.getvalue()
    assert PW not in text and "https://***@es.example:9200" in text and "http://***@h:1/_bulk" in text
    if fmt == "json":
        assert all(json.loads(line) for line in text.splitlines() if line.startswith("{"))


def test_config_error_type_itself_redacts() -> None:
    assert PW not in str(ConfigError(f"bad: https://a:{PW}@h", hint=f"see http://b:{PW}@h"))
