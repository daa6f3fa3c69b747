"""A private key or a configuration file that group or others can read gets a warning naming the
file and the ``chmod`` that fixes it — a warning, not an error (issue 18)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.cli.helpers import wafpipe, write_config
from tests.filebuilder import make_keys


def setup(root: Path) -> tuple[Path, Path, Path]:
    cfg = write_config(root)
    make_keys(root / "keys", "7")
    key_a = root / "keys" / "7" / "Private.key"
    key_b = root / "keys" / "8.pem"
    key_b.write_bytes(key_a.read_bytes())
    for p in (cfg, key_a, key_b):
        os.chmod(p, 0o600)
    return cfg, key_a, key_b


def test_private_files_give_no_warning(tmp_path: Path) -> None:
    setup(tmp_path)
    res = wafpipe("deadletters", "list", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 0 and "warning" not in res.stderr, res.stderr


def test_a_readable_private_key_is_named_with_its_fix(tmp_path: Path) -> None:
    _, key_a, key_b = setup(tmp_path)
    os.chmod(key_a, 0o644)
    os.chmod(key_b, 0o640)
    res = wafpipe("deadletters", "list", "-c", "wafpipe.toml", cwd=tmp_path)
    assert res.returncode == 0, res.stderr  # a warning, not an error
    warnings = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2, res.stderr
    assert any(str(key_a) in w and "mode 0644" in w and f"chmod 600 {key_a}" in w for w in warnings)
    assert any(str(key_b) in w and "mode 0640" in w and f"chmod 600 {key_b}" in w for w in warnings)


def test_a_world_writable_config_is_named_with_its_fix(tmp_path: Path) -> None:
    cfg, _, _ = setup(tmp_path)
    os.chmod(cfg, 0o666)
    res = wafpipe("run", "-c", "wafpipe.toml", "--once", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    (warning,) = [line for line in res.stderr.splitlines() if line.startswith("warning:")]
    assert f"configuration file {cfg}" in warning and "mode 0666" in warning and f"chmod 600 {cfg}" in warning
