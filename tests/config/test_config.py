"""Configuration: defaults without a file, one error message per kind of mistake (with its key
path), secrets from the environment only, relative paths, and docs/configuration.md kept complete."""

from __future__ import annotations

import os
import re
import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from wafpipe.config import root as cfgmod
from wafpipe.config.root import Config, load_config
from wafpipe.errors import ConfigError
from wafpipe.sinks.duckdb import DuckDBSinkConfig
from wafpipe.sinks.elasticsearch.config import ElasticsearchSinkConfig
from wafpipe.sources.directory import DirectorySourceConfig

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wafpipe.toml"
    path.write_text(text)
    return path


def error_for(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    return message


# --------------------------------------------------------------------------------------- defaults
def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WAFPIPE_CONFIG", raising=False)
    cfg = load_config(None)
    assert cfg.file is None
    assert cfg.data_dir == tmp_path / "data"
    assert cfg.state_path == tmp_path / "data" / "state.sqlite"
    [src] = cfg.sources
    assert isinstance(src, DirectorySourceConfig)
    assert src.path == tmp_path / "incoming"
    assert src.patterns == ["*.log", "*.log.gz"]
    assert src.name == "directory"
    [sink] = cfg.sinks
    assert isinstance(sink, DuckDBSinkConfig)
    assert sink.path == tmp_path / "data" / "wafpipe.duckdb"
    assert cfg.pipeline.batch_size == 10_000
    assert cfg.pipeline.batch_timeout_s == 2.0
    assert cfg.pipeline.workers == (os.cpu_count() or 1)
    assert cfg.pipeline.max_line_bytes == 1 << 20
    assert cfg.pipeline.max_output_bytes == 4 << 30 and cfg.pipeline.max_ratio == 1000
    assert cfg.api.host == "127.0.0.1" and cfg.api.port == 8080 and cfg.api.metrics_without_token is False
    assert cfg.kibana is None


def test_the_decompression_bounds_are_settings_with_a_floor(tmp_path: Path) -> None:
    write(tmp_path, "[pipeline]\nmax_output_bytes = 104857600\nmax_ratio = 50\n")
    cfg = load_config(tmp_path / "wafpipe.toml")
    assert cfg.pipeline.max_output_bytes == 100 << 20 and cfg.pipeline.max_ratio == 50
    for bad in ("max_output_bytes = 1000", "max_ratio = 1"):
        write(tmp_path, f"[pipeline]\n{bad}\n")
        with pytest.raises(ConfigError, match=bad.split(" ")[0]):
            load_config(tmp_path / "wafpipe.toml")


def test_default_file_in_cwd_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WAFPIPE_CONFIG", raising=False)
    write(tmp_path, 'data_dir = "state"\n')
    cfg = load_config(None)
    assert cfg.file == tmp_path / "wafpipe.toml"
    assert cfg.data_dir == tmp_path / "state"
    assert cfg.sinks[0].path == tmp_path / "state" / "wafpipe.duckdb"


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_relative_paths_resolve_against_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf_dir = tmp_path / "etc"
    conf_dir.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = write(
        conf_dir,
        """
data_dir = "var"
[keys]
dir = "/abs/keys"
[[sources]]
type = "directory"
path = "in"
after = "move"
done_dir = "done"
[[sinks]]
type = "elasticsearch"
hosts = ["https://localhost:9200"]
ca_file = "ca.pem"
[[sinks]]
type = "duckdb"
path = "out/events.duckdb"
""",
    )
    cfg = load_config(path)
    assert cfg.data_dir == conf_dir / "var"
    assert cfg.keys.dir == Path("/abs/keys")
    src = cfg.sources[0]
    assert isinstance(src, DirectorySourceConfig)
    assert src.path == conf_dir / "in" and src.done_dir == conf_dir / "done"
    es = cfg.sinks[0]
    assert isinstance(es, ElasticsearchSinkConfig)
    assert es.ca_file == conf_dir / "ca.pem"
    assert es.spool_dir == conf_dir / "var" / "spool" / "elasticsearch"
    assert cfg.sinks[1].path == conf_dir / "out" / "events.duckdb"


def test_design_example_loads(tmp_path: Path) -> None:
    """The config shape of DESIGN §4 must keep loading."""
    cfg = load_config(
        write(
            tmp_path,
            """
data_dir = "data"
[keys]
dir = "keys"
[[sources]]
type = "directory"
path = "/var/log/imperva"
patterns = ["*.log", "*.log.gz"]
[[sinks]]
type = "duckdb"
path = "data/wafpipe.duckdb"
[[sinks]]
type = "elasticsearch"
hosts = ["https://localhost:9200"]
api_key_env = "ES_API_KEY"
namespace = "default"
[kibana]
url = "https://localhost:5601"
api_key_env = "KIBANA_API_KEY"
""",
        )
    )
    assert [s.type for s in cfg.sources] == ["directory"]
    assert [s.name for s in cfg.sinks] == ["duckdb", "elasticsearch"]
    assert cfg.kibana is not None and cfg.kibana.space == "default"


def test_repeated_types_get_unique_names_and_duplicates_are_refused(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            '[[sinks]]\ntype = "duckdb"\n[[sinks]]\ntype = "duckdb"\npath = "a"\n'
            '[[sinks]]\ntype = "duckdb"\npath = "b"\n',
        )
    )
    assert [s.name for s in cfg.sinks] == ["duckdb", "duckdb-2", "duckdb-3"]
    msg = error_for(
        tmp_path,
        '[[sinks]]\ntype = "duckdb"\nname = "x"\npath = "a"\n'
        '[[sinks]]\ntype = "duckdb"\nname = "x"\npath = "b"\n',
    )
    assert "sinks[1].name" in msg


# ----------------------------------------------------------------------------------------- errors
def test_unknown_key_names_the_path_and_the_nearest_key(tmp_path: Path) -> None:
    msg = error_for(
        tmp_path,
        '[[sinks]]\ntype = "duckdb"\n[[sinks]]\ntype = "elasticsearch"\n'
        'hosts = ["https://x:9200"]\nnamspace = "prod"\n',
    )
    assert "sinks[1].namspace" in msg
    assert "did you mean 'namespace'" in msg


def test_unknown_top_level_key(tmp_path: Path) -> None:
    msg = error_for(tmp_path, 'data_dirr = "x"\n')
    assert "data_dirr" in msg and "did you mean 'data_dir'" in msg


def test_wrong_type_names_the_path_and_the_expected_type(tmp_path: Path) -> None:
    msg = error_for(
        tmp_path, '[[sinks]]\ntype = "duckdb"\n[[sinks]]\ntype = "elasticsearch"\nhosts = "https://x:9200"\n'
    )
    assert "sinks[1].hosts" in msg and "expected a list of strings" in msg
    msg = error_for(tmp_path, '[pipeline]\nbatch_size = "5000"\n')
    assert "pipeline.batch_size" in msg and "expected integer" in msg


def test_bad_enum_lists_the_allowed_values(tmp_path: Path) -> None:
    msg = error_for(tmp_path, '[[sources]]\ntype = "directory"\nafter = "archive"\n')
    assert "sources[0].after" in msg
    for allowed in ("'keep'", "'delete'", "'move'"):
        assert allowed in msg
    msg = error_for(tmp_path, '[[sinks]]\ntype = "ftp"\n')
    assert "sinks[0].type" in msg and "'opensearch'" in msg and "'ftp'" in msg


def test_missing_required_key_and_cross_field_rule(tmp_path: Path) -> None:
    msg = error_for(tmp_path, '[kibana]\nspace = "x"\n')
    assert "kibana.url: required key is missing" in msg
    msg = error_for(tmp_path, '[[sources]]\ntype = "directory"\nafter = "move"\n')
    assert "sources[0]" in msg and "done_dir is required" in msg


def test_literal_secret_is_refused(tmp_path: Path) -> None:
    msg = error_for(
        tmp_path, '[[sinks]]\ntype = "elasticsearch"\nhosts = ["https://x:9200"]\napi_key = "c2VjcmV0"\n'
    )
    assert "sinks[0].api_key" in msg and "api_key_env" in msg
    assert "c2VjcmV0" not in msg  # never echo the secret
    msg = error_for(tmp_path, '[kibana]\nurl = "https://k:5601"\nusername = "u"\npassword = "hunter2"\n')
    assert "kibana.password" in msg and "password_env" in msg and "hunter2" not in msg


def test_several_problems_are_reported_at_once(tmp_path: Path) -> None:
    msg = error_for(tmp_path, '[pipeline]\nworkers = 0\nbatch_size = true\n[logging]\nformat = "xml"\n')
    assert "pipeline.workers" in msg and "pipeline.batch_size" in msg and "logging.format" in msg


def test_namespace_rules_follow_elasticsearch(tmp_path: Path) -> None:
    for bad in ("Prod", "my-ns", "a b", "_x", ""):
        msg = error_for(
            tmp_path, f'[[sinks]]\ntype = "elasticsearch"\nhosts = ["https://x:9200"]\nnamespace = "{bad}"\n'
        )
        assert "sinks[0].namespace" in msg
    msg = error_for(
        tmp_path,
        '[[sinks]]\ntype = "elasticsearch"\nhosts = ["https://x:9200"]\n'
        'namespace_rules = [{ match = "site_id", value = "1", namespace = "Shop-1" }]\n',
    )
    assert "sinks[0].namespace_rules[0].namespace" in msg
    cfg = load_config(
        write(
            tmp_path, '[[sinks]]\ntype = "opensearch"\nhosts = ["http://x:9200"]\nnamespace = "shop_eu.1"\n'
        )
    )
    assert cfg.sinks[0].namespace == "shop_eu.1"


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    msg = error_for(tmp_path, "data_dir = \n")
    assert "TOML syntax error" in msg


def test_api_host_beyond_loopback_needs_tls(tmp_path: Path) -> None:
    msg = error_for(tmp_path, '[api]\nhost = "0.0.0.0"\n')
    assert "api" in msg and "reachable from other machines" in msg and "tls_terminated_by_proxy" in msg
    assert "must be an IP address" in error_for(tmp_path, '[api]\nhost = "example.com"\n')
    assert "go together" in error_for(tmp_path, '[api]\ntls_cert_file = "c.pem"\n')


# ---------------------------------------------------------------------------------------- secrets
def test_secret_comes_from_the_named_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = load_config(
        write(
            tmp_path,
            '[[sinks]]\ntype = "elasticsearch"\nhosts = ["https://x:9200"]\n'
            'api_key_env = "WAFPIPE_TEST_ES_KEY"\n',
        )
    )
    sink = cfg.sinks[0]
    monkeypatch.delenv("WAFPIPE_TEST_ES_KEY", raising=False)
    with pytest.raises(ConfigError) as info:
        sink.secret("api_key")
    assert "WAFPIPE_TEST_ES_KEY" in str(info.value) and "sinks[0].api_key_env" in str(info.value)
    monkeypatch.setenv("WAFPIPE_TEST_ES_KEY", "s3cret")
    assert sink.secret("api_key") == "s3cret"
    assert sink.secret("password", required=False) is None
    with pytest.raises(ConfigError, match="password_env"):
        sink.secret("password")


def test_env_names_are_validated(tmp_path: Path) -> None:
    msg = error_for(
        tmp_path, '[[sinks]]\ntype = "elasticsearch"\nhosts = ["https://x:9200"]\napi_key_env = "my key"\n'
    )
    assert "sinks[0].api_key_env" in msg and "NAME of an environment variable" in msg


# ------------------------------------------------------------------------------------ docs coverage
def _models(tp: Any, seen: dict[str, type[BaseModel]]) -> None:
    """Every pydantic model reachable from ``tp`` (through lists, unions, Optional, Annotated)."""
    origin = get_origin(tp)
    if origin in (Annotated, list, Union, types.UnionType):
        for arg in get_args(tp):
            _models(arg, seen)
        return
    if isinstance(tp, type) and issubclass(tp, BaseModel) and tp.__name__ not in seen:
        seen[tp.__name__] = tp
        for field in tp.model_fields.values():
            _models(field.annotation, seen)


def _doc_tables() -> dict[str, dict[str, str]]:
    """``<!-- model: X -->`` → {key: default cell} from the table that follows it."""
    out: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in DOC.read_text().splitlines():
        m = re.match(r"<!-- model: (\w+) -->", line)
        if m:
            current = out.setdefault(m.group(1), {})
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]  # "\|" is a pipe inside a cell
        key = re.fullmatch(r"`(\w+)`", cells[0]) if len(cells) == 4 else None
        if key and current is not None:
            current[key.group(1)] = cells[2]
        elif line.startswith("#"):
            current = None
    return out


def _toml_literal(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | Path):
        return f'"{value}"'
    if isinstance(value, int | float):
        return str(value)
    return None


def test_every_key_is_documented_and_every_documented_key_exists() -> None:
    models: dict[str, type[BaseModel]] = {}
    _models(Config, models)
    assert {"DirectorySourceConfig", "ElasticsearchSinkConfig", "NamespaceRule", "IlmConfig"} <= set(models)
    tables = _doc_tables()
    assert set(models) == set(tables), "models without a doc table / doc tables without a model"
    for name, model in models.items():
        documented = tables[name]
        assert set(model.model_fields) - set(documented) == set(), f"{name}: undocumented keys"
        assert set(documented) - set(model.model_fields) == set(), (
            f"{name}: documented keys that do not exist"
        )
        for key, field in model.model_fields.items():
            if field.default_factory is not None or field.default is None:
                continue
            literal = _toml_literal(field.default)
            if literal is not None:
                assert literal in documented[key], (
                    f"{name}.{key}: doc says {documented[key]!r}, code {literal}"
                )


def test_every_model_forbids_extra_keys() -> None:
    models: dict[str, type[BaseModel]] = {}
    _models(Config, models)
    for name, model in models.items():
        assert model.model_config.get("extra") == "forbid", name
    assert cfgmod.DEFAULT_CONFIG_NAME == "wafpipe.toml"
