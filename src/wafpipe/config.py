"""Configuration: one pydantic model per component, loaded from TOML (DESIGN §4, docs/configuration.md).

This module is the public face: the top-level tables, :class:`Config`, :func:`load_config` and
:func:`config_from_dict`, and (re-exported) every model, so ``from wafpipe.config import X`` works
for all of them. The rest lives where its reasoning is:

* :mod:`wafpipe.config_base` — why ``extra="forbid"``, strict types and secrets only through
  ``*_env`` keys (the base model every table derives from);
* :mod:`wafpipe.config_components` — one model per source and per sink;
* :mod:`wafpipe.config_errors` — every :class:`pydantic.ValidationError` becomes one
  :class:`~wafpipe.errors.ConfigError` that lists each problem as ``file: key.path: what is expected``.

Relative paths resolve against the directory of the configuration file (the current directory when
there is no file), so ``wafpipe run -c /etc/wafpipe/wafpipe.toml`` works from anywhere.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, ValidationError, field_validator

from wafpipe.config_base import HttpUrl, PathField, _Model
from wafpipe.config_base import _component_name as _component_name
from wafpipe.config_base import _namespace as _namespace
from wafpipe.config_components import (
    After,
    ArchiveSinkConfig,
    AzureBlobSourceConfig,
    DirectorySourceConfig,
    DuckDBSinkConfig,
    ElasticsearchSinkConfig,
    IlmConfig,
    ImpervaApiSourceConfig,
    IsmConfig,
    NamespaceRule,
    NdjsonSinkConfig,
    OpenSearchSinkConfig,
    S3SourceConfig,
    SftpSourceConfig,
    SinkConfig,
    SourceConfig,
    SqsSourceConfig,
    _ClusterSinkBase,
)
from wafpipe.config_components import _SinkBase as _SinkBase
from wafpipe.config_components import _SourceBase as _SourceBase
from wafpipe.config_errors import to_config_error
from wafpipe.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "After",
    "ApiConfig",
    "ArchiveSinkConfig",
    "AzureBlobSourceConfig",
    "Config",
    "DirectorySourceConfig",
    "DuckDBSinkConfig",
    "ElasticsearchSinkConfig",
    "IlmConfig",
    "ImpervaApiSourceConfig",
    "IsmConfig",
    "KeysConfig",
    "KibanaConfig",
    "LoggingConfig",
    "NamespaceRule",
    "NdjsonSinkConfig",
    "OpenSearchSinkConfig",
    "PathField",
    "PipelineConfig",
    "S3SourceConfig",
    "SftpSourceConfig",
    "SinkConfig",
    "SourceConfig",
    "SqsSourceConfig",
    "config_from_dict",
    "load_config",
]

DEFAULT_CONFIG_NAME = "wafpipe.toml"


# -------------------------------------------------------------------------------- top-level tables
class KeysConfig(_Model):
    dir: PathField = Path("keys")


class KibanaConfig(_Model):
    url: HttpUrl
    api_key_env: str | None = None
    username: str | None = None
    password_env: str | None = None
    space: str = "default"
    ca_file: PathField | None = None
    verify_certs: bool = True


class PipelineConfig(_Model):
    batch_size: int = Field(2000, ge=1)
    batch_timeout_s: float = Field(2.0, gt=0)
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    queue_size: int = Field(4, ge=1)
    max_line_bytes: int = Field(1 << 20, ge=1024)
    drain_timeout_s: float = Field(60.0, ge=0)


class ApiConfig(_Model):
    host: Literal["127.0.0.1"] = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)


class LoggingConfig(_Model):
    format: Literal["text", "json"] = "text"
    level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("level", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v


class Config(_Model):
    data_dir: PathField = Path("data")
    keys: KeysConfig = Field(default_factory=KeysConfig)
    sources: list[SourceConfig] = Field(default_factory=lambda: [DirectorySourceConfig()])
    sinks: list[SinkConfig] = Field(default_factory=list)  # empty → one duckdb sink
    kibana: KibanaConfig | None = None
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    _file: Path | None = PrivateAttr(default=None)

    @property
    def file(self) -> Path | None:
        """The TOML file this came from (None for built-in defaults)."""
        return self._file

    @property
    def state_path(self) -> Path:
        return self.data_dir / "state.sqlite"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"


# ------------------------------------------------------------------------------------------ loading
def load_config(path: Path | str | None = None) -> Config:
    """``-c PATH`` if given, else ``$WAFPIPE_CONFIG``, else ``./wafpipe.toml`` when it exists, else the
    built-in defaults (which work with no file at all)."""
    if path is None and os.environ.get("WAFPIPE_CONFIG"):
        path = os.environ["WAFPIPE_CONFIG"]
    if path is None:
        default = Path(DEFAULT_CONFIG_NAME)
        if not default.is_file():
            return config_from_dict({}, file=None, base_dir=Path.cwd())
        path = default
    file = Path(path).expanduser().absolute()
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"configuration file not found: {file}", hint="pass -c PATH to an existing file"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {file}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: TOML syntax error: {exc}") from None
    return config_from_dict(data, file=file, base_dir=file.parent)


def config_from_dict(data: dict[str, Any], *, file: Path | None, base_dir: Path) -> Config:
    """Validate parsed TOML, resolve relative paths against ``base_dir`` and fill derived defaults."""
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise to_config_error(exc, file=file, root=Config) from None
    cfg._file = file
    _resolve_paths(cfg, base_dir.absolute(), "")
    if not cfg.sinks:
        cfg.sinks.append(DuckDBSinkConfig())
    _name_components(cfg)
    for i, sink in enumerate(cfg.sinks):
        sink._where = f"sinks[{i}]"
        if isinstance(sink, DuckDBSinkConfig) and sink.path is None:
            sink.path = cfg.data_dir / "wafpipe.duckdb"
        if isinstance(sink, _ClusterSinkBase) and sink.spool_dir is None:
            sink.spool_dir = cfg.data_dir / "spool" / str(sink.name)
    return cfg


def _resolve_paths(model: BaseModel, base: Path, where: str) -> None:
    if isinstance(model, _Model):
        model._where = where
    for name in type(model).model_fields:
        value = getattr(model, name)
        key = f"{where}.{name}" if where else name
        if isinstance(value, Path):
            value = value.expanduser()
            setattr(model, name, value if value.is_absolute() else base / value)
        elif isinstance(value, BaseModel):
            _resolve_paths(value, base, key)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    _resolve_paths(item, base, f"{key}[{i}]")


def _name_components(cfg: Config) -> None:
    """Default names are the type, suffixed ``-2``, ``-3``… for repeats; names must be unique because
    state (file keys, sink cursors, spools) is keyed by them."""
    for label, items in (("sources", cfg.sources), ("sinks", cfg.sinks)):
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.name is None:
                n, k = item.type, 1
                while n in seen or any(o.name == n for o in items):
                    k += 1
                    n = f"{item.type}-{k}"
                item.name = n
            if item.name in seen:
                raise ConfigError(
                    f"{cfg.file or 'configuration'}: {label}[{i}].name: {item.name!r} is used twice; "
                    f"every entry of {label} needs a unique name"
                )
            seen.add(item.name)

