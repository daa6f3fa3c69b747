"""The root table of the configuration file, and loading it (DESIGN §4, docs/configuration.md).

:class:`Config` holds the top-level tables; its ``sources`` and ``sinks`` lists accept exactly the
types registered in :mod:`wafpipe.sources.registry` and :mod:`wafpipe.sinks.registry`, each
validated by the model that lives beside its runner.

Relative paths resolve against the directory of the configuration file (the current directory when
there is no file), so ``wafpipe run -c /etc/wafpipe/wafpipe.toml`` works from anywhere.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, PrivateAttr, ValidationError, field_validator, model_validator

from wafpipe import _native
from wafpipe.config.base import HttpUrl, PathField, _Model
from wafpipe.config.errors import to_config_error
from wafpipe.enrich.redaction import RedactionConfig
from wafpipe.errors import ConfigError
from wafpipe.sinks import registry as sink_registry
from wafpipe.sinks.duckdb import DEFAULT_STORE_NAME, DuckDBSinkConfig
from wafpipe.sinks.elasticsearch.config import ClusterSinkConfig, KibanaConfig
from wafpipe.sources import registry as source_registry
from wafpipe.sources.directory import DirectorySourceConfig

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "ApiConfig",
    "Config",
    "KeysConfig",
    "KibanaConfig",
    "LoggingConfig",
    "PipelineConfig",
    "SinkConfig",
    "SourceConfig",
    "config_from_dict",
    "load_config",
]


def _tagged_union(models: list[type[BaseModel]]) -> Any:
    """The models of every registered type as one union tagged by ``type``, so a table is validated
    against exactly one model and an error names the keys of that model."""
    if len(models) == 1:
        return models[0]
    return Annotated[Union[tuple(models)], Field(discriminator="type")]  # noqa: UP007


SourceConfig = _tagged_union([c.config for c in source_registry.COMPONENTS.values()])
SinkConfig = _tagged_union([c.config for c in sink_registry.COMPONENTS.values()])

DEFAULT_CONFIG_NAME = "wafpipe.toml"


# -------------------------------------------------------------------------------- top-level tables
class KeysConfig(_Model):
    dir: PathField = Path("keys")


class PipelineConfig(_Model):
    # 10 000: twice the rate of 2 000 into DuckDB and a store 1.40x the gzip'd input instead of 1.91x
    # (larger commits compress better); larger still gains nothing with 2 workers on 2 cores and
    # grows memory (bench/collector.py, docs/architecture.md "The store").
    batch_size: int = Field(10_000, ge=1)
    batch_timeout_s: float = Field(2.0, gt=0)
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    queue_size: int = Field(4, ge=1)
    max_line_bytes: int = Field(_native.DEFAULT_MAX_LINE_BYTES, ge=1024)
    # A file's decoded body stops at max_output_bytes, or once past 64 MiB at max_ratio decoded bytes
    # per compressed byte: a decompression bomb is quarantined, never an out-of-memory (DESIGN §7).
    max_output_bytes: int = Field(_native.DEFAULT_MAX_OUTPUT_BYTES, ge=1 << 20)
    max_ratio: int = Field(_native.DEFAULT_MAX_RATIO, ge=10)
    drain_timeout_s: float = Field(60.0, ge=0)


class ApiConfig(_Model):
    # 127.0.0.1 unless told otherwise; another address also needs credentials chosen for it
    # ($WAFPIPE_API_TOKEN or token_file, checked at start) and TLS, here or at a proxy in front.
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)  # fixed across restarts, so Prometheus finds it
    metrics_without_token: bool = False  # only by an explicit setting (DESIGN §4)
    token_file: PathField | None = None  # the token in a file of the user's (mode 0600)
    tls_cert_file: PathField | None = None
    tls_key_file: PathField | None = None
    tls_terminated_by_proxy: bool = False
    server_names: list[str] = Field(default_factory=list)  # Host names accepted besides the address

    @field_validator("host")
    @classmethod
    def _address(cls, v: str) -> str:
        if v != "localhost":
            try:
                ipaddress.ip_address(v)
            except ValueError:
                raise ValueError(f"must be an IP address to listen on (127.0.0.1, 0.0.0.0, ::), got {v!r}") from None
        return v

    @model_validator(mode="after")
    def _safe_beyond_loopback(self) -> ApiConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together")
        if not self.loopback and self.tls_cert_file is None and not self.tls_terminated_by_proxy:
            raise ValueError(f"host {self.host!r} is reachable from other machines: serve TLS (tls_cert_file and "
                             "tls_key_file), or set tls_terminated_by_proxy = true when a proxy in front of "
                             "wafpipe terminates it")
        return self

    @property
    def loopback(self) -> bool:
        return self.host == "localhost" or ipaddress.ip_address(self.host).is_loopback

    def server_options(self) -> dict[str, Any]:
        """The HTTP server's settings (:class:`wafpipe.collector.api.LocalApi`'s keyword arguments)."""
        return {"host": self.host, "port": self.port, "metrics_without_token": self.metrics_without_token, "token_file": self.token_file,
                "tls_cert_file": self.tls_cert_file, "tls_key_file": self.tls_key_file,
                "secure_cookies": self.tls_cert_file is not None or self.tls_terminated_by_proxy,
                "server_names": self.server_names}


class WebhookOutput(_Model):
    """``{type = "webhook", url = …}``: each alert change POSTed as JSON (wafpipe.collector.alert_outputs)."""

    type: Literal["webhook"]
    url: HttpUrl
    token_env: str | None = None  # sent as "Authorization: Bearer <token>"
    timeout_s: float = Field(10.0, gt=0)


class FileOutput(_Model):
    """``{type = "file", path = …}``: each alert change appended to an NDJSON file."""

    type: Literal["file"]
    path: PathField


class SyslogOutput(_Model):
    """``{type = "syslog", address = "tcp://host:6514"}``: each alert change as an RFC 5424 message."""

    type: Literal["syslog"]
    address: str = Field(pattern=r"^(tcp|udp)://[^\s:/]+:\d{1,5}$")  # tcp://host:port or udp://host:port
    facility: Literal["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"] = "local0"
    timeout_s: float = Field(10.0, gt=0)


AlertOutput = Annotated[Union[WebhookOutput, FileOutput, SyslogOutput], Field(discriminator="type")]  # noqa: UP007


class DetectConfig(_Model):
    """``[detect]``: the user's own Sigma rules beside the shipped ones, how often correlations run,
    and where alerts are sent."""

    rules_dir: PathField | None = None
    shipped_rules: bool = True
    correlation_interval_s: float = Field(60.0, gt=0)  # how often a watching collector runs correlations
    outputs: list[AlertOutput] = Field(default_factory=list)  # type: ignore[valid-type]
    index_alerts: bool = True  # each cluster sink also keeps the alerts in its "wafpipe-alerts" index


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
    sources: list[SourceConfig] = Field(default_factory=lambda: [DirectorySourceConfig()])  # type: ignore[valid-type]
    sinks: list[SinkConfig] = Field(default_factory=list)  # type: ignore[valid-type]  # empty → one duckdb sink
    kibana: KibanaConfig | None = None
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    detect: DetectConfig = Field(default_factory=DetectConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    redaction: RedactionConfig | None = None  # off unless the table is present
    _file: Path | None = PrivateAttr(default=None)

    @property
    def file(self) -> Path | None:
        """The TOML file this came from (None for built-in defaults)."""
        return self._file

    @property
    def state_path(self) -> Path:
        return self.data_dir / "state.sqlite"

    @property
    def store_sink(self) -> DuckDBSinkConfig | None:
        """The embedded store's sink table (the first ``duckdb`` sink), or None when there is none."""
        return next((s for s in self.sinks if isinstance(s, DuckDBSinkConfig)), None)

    @property
    def store_path(self) -> Path | None:
        """The embedded store's file, which ``wafpipe query`` reads; None without a duckdb sink."""
        sink = self.store_sink
        if sink is None:
            return None
        return sink.path or self.data_dir / DEFAULT_STORE_NAME


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
            sink.path = cfg.data_dir / DEFAULT_STORE_NAME
        if isinstance(sink, ClusterSinkConfig) and sink.spool_dir is None:
            sink.spool_dir = sink.default_spool_dir(cfg.data_dir)
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

