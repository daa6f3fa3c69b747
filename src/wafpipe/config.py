"""Configuration: one pydantic model per component, loaded from TOML (DESIGN §4, docs/configuration.md).

Why this shape:

* ``extra="forbid"`` everywhere, because a misspelt key silently ignored is the most expensive kind
  of configuration bug; the error names the nearest valid key.
* ``strict`` numbers and booleans, because TOML has real types and ``batch_size = "5000"`` is more
  likely a mistake than an intent. Paths are the exception: they are written as strings.
* Secrets are never read from the file: only ``*_env`` keys that *name* an environment variable, so a
  config file can be committed, shared and printed. A literal ``api_key``/``password`` is refused.
* Relative paths resolve against the directory of the configuration file (the current directory when
  there is no file), so ``wafpipe run -c /etc/wafpipe/wafpipe.toml`` works from anywhere.
* Every :class:`pydantic.ValidationError` becomes one :class:`~wafpipe.errors.ConfigError` that lists
  each problem as ``file: key.path: what is expected``.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from wafpipe.errors import ConfigError

DEFAULT_CONFIG_NAME = "wafpipe.toml"
PathField = Annotated[Path, Field(strict=False)]
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COMPONENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_SIZE = re.compile(r"^\d+(\.\d+)?\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)$", re.I)
_NS_FORBIDDEN = set('\\/*?"<>| ,#:-')


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True)
    _where: str = PrivateAttr(default="")  # key path of this table, set by load_config (for messages)

    @field_validator("*", mode="after")
    @classmethod
    def _check_env_names(cls, value: Any, info: Any) -> Any:
        if info.field_name.endswith("_env") and value is not None and not _ENV_NAME.match(value):
            raise ValueError(
                f"must be the NAME of an environment variable (letters, digits, _), got {value!r}"
            )
        return value

    def secret(self, name: str, *, required: bool = True) -> str | None:
        """The value of the environment variable named by ``<name>_env``.

        Raises ConfigError naming the key and the variable when it is unset (or, with
        ``required``, when no variable is configured)."""
        var = getattr(self, f"{name}_env")
        where = f"{self._where}.{name}_env" if self._where else f"{name}_env"
        if var is None:
            if required:
                raise ConfigError(f"{where} is not set: name the environment variable that holds {name}")
            return None
        value = os.environ.get(var)
        if not value:
            raise ConfigError(
                f"environment variable {var} (named by {where}) is not set or empty",
                hint=f"export {var}=... before starting wafpipe",
            )
        return value


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
    return value.rstrip("/") if value.count("/") > 2 and value.endswith("/") else value


def _namespace(value: str) -> str:
    """Elasticsearch data stream namespace rules (the ``<namespace>`` in logs-imperva.waf-<namespace>)."""
    bad = sorted(set(value) & _NS_FORBIDDEN)
    if not value or value != value.lower() or bad or len(value.encode()) > 100 or value[0] in "_+.":
        raise ValueError(
            f"invalid data stream namespace {value!r}: it must be 1-100 bytes of lower case, must not "
            'start with _ + or ., and must not contain - \\ / * ? " < > | , # : or spaces'
            + (f" (found {' '.join(repr(c) for c in bad)})" if bad else "")
        )
    return value


def _component_name(v: str | None) -> str | None:
    """Names key state rows and spool directories, so they must be safe in a file name."""
    if v is not None and not _COMPONENT_NAME.match(v):
        raise ValueError(
            f"must be 1-64 letters, digits, '_', '.', '-' starting with a letter or digit (got {v!r})"
        )
    return v


# ----------------------------------------------------------------------------------------- sources
After = Literal["keep", "delete", "move"]


class _SourceBase(_Model):
    name: str | None = None
    patterns: list[str] = Field(default_factory=lambda: ["*.log", "*.log.gz"])

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return _component_name(v)


class DirectorySourceConfig(_SourceBase):
    type: Literal["directory"] = "directory"
    path: PathField = Path("incoming")
    recursive: bool = False
    poll_interval_s: float = Field(2.0, gt=0)
    stable_checks: int = Field(2, ge=1)
    ignore_patterns: list[str] = Field(default_factory=lambda: ["*.filepart", "*.tmp", ".*"])
    after: After = "keep"
    done_dir: PathField | None = None

    @model_validator(mode="after")
    def _move_needs_dir(self) -> DirectorySourceConfig:
        if self.after == "move" and self.done_dir is None:
            raise ValueError('done_dir is required when after = "move"')
        return self


class S3SourceConfig(_SourceBase):
    type: Literal["s3"]
    bucket: str
    prefix: str = ""
    region: str | None = None
    endpoint_url: str | None = None
    access_key_id_env: str | None = None
    secret_access_key_env: str | None = None
    poll_interval_s: float = Field(30.0, gt=0)
    after: Literal["keep", "delete"] = "keep"


class SqsSourceConfig(_SourceBase):
    type: Literal["sqs"]
    queue_url: str
    region: str | None = None
    endpoint_url: str | None = None
    access_key_id_env: str | None = None
    secret_access_key_env: str | None = None
    wait_time_s: int = Field(20, ge=0, le=20)
    visibility_timeout_s: int = Field(300, ge=0)


class AzureBlobSourceConfig(_SourceBase):
    type: Literal["azure_blob"]
    account_url: str
    container: str
    prefix: str = ""
    connection_string_env: str | None = None
    account_key_env: str | None = None
    sas_token_env: str | None = None
    poll_interval_s: float = Field(30.0, gt=0)


class SftpSourceConfig(_SourceBase):
    type: Literal["sftp"]
    host: str
    port: int = Field(22, ge=1, le=65535)
    username: str
    password_env: str | None = None
    private_key_file: PathField | None = None
    private_key_passphrase_env: str | None = None
    known_hosts: PathField | None = None
    path: str = "."
    poll_interval_s: float = Field(30.0, gt=0)
    stable_checks: int = Field(2, ge=1)
    after: Literal["keep", "delete"] = "keep"


class ImpervaApiSourceConfig(_SourceBase):
    type: Literal["imperva_api"]
    url: str
    api_id_env: str = "IMPERVA_API_ID"
    api_key_env: str = "IMPERVA_API_KEY"
    poll_interval_s: float = Field(60.0, gt=0)
    timeout_s: float = Field(60.0, gt=0)
    ca_file: PathField | None = None
    verify_certs: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _http_url(v)


SourceConfig = Annotated[
    Union[  # noqa: UP007 - a discriminated union reads better spelled out
        DirectorySourceConfig,
        S3SourceConfig,
        SqsSourceConfig,
        AzureBlobSourceConfig,
        SftpSourceConfig,
        ImpervaApiSourceConfig,
    ],
    Field(discriminator="type"),
]


# ------------------------------------------------------------------------------------------- sinks
class _SinkBase(_Model):
    name: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return _component_name(v)


class DuckDBSinkConfig(_SinkBase):
    type: Literal["duckdb"] = "duckdb"
    path: PathField | None = None  # None → <data_dir>/wafpipe.duckdb
    memory_limit: str = "256MB"
    threads: int | None = Field(None, ge=1)
    retention_days: int | None = Field(None, ge=1)

    @field_validator("memory_limit")
    @classmethod
    def _mem(cls, v: str) -> str:
        if not _SIZE.match(v.strip()):
            raise ValueError(f"must be a size such as '256MB' or '2GiB', got {v!r}")
        return v.strip()


class NamespaceRule(_Model):
    match: Literal["account_id", "site_id", "site_tag"]
    value: str
    namespace: str

    @field_validator("namespace")
    @classmethod
    def _ns(cls, v: str) -> str:
        return _namespace(v)


class IlmConfig(_Model):
    delete_after_days: int = Field(30, ge=1)
    rollover_max_age: str = "1d"
    rollover_max_primary_shard_size: str = "50gb"


class IsmConfig(IlmConfig):
    """Same knobs as ILM, installed as an OpenSearch ISM policy."""


class _ClusterSinkBase(_SinkBase):
    hosts: list[str] = Field(default_factory=list)
    namespace: str = "default"
    api_key_env: str | None = None
    username: str | None = None
    password_env: str | None = None
    ca_file: PathField | None = None
    verify_certs: bool = True
    ssl_assert_fingerprint: str | None = None
    spool_dir: PathField | None = None  # None → <data_dir>/spool/<sink name>
    spool_max_bytes: int = Field(1 << 30, ge=1 << 20)
    namespace_rules: list[NamespaceRule] = Field(default_factory=list)
    batch_size: int = Field(1000, ge=1)
    max_retries: int = Field(5, ge=0)
    timeout_s: float = Field(30.0, gt=0)

    @field_validator("namespace")
    @classmethod
    def _ns(cls, v: str) -> str:
        return _namespace(v)

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, v: list[str]) -> list[str]:
        return [_http_url(h) for h in v]

    @model_validator(mode="after")
    def _auth(self) -> _ClusterSinkBase:
        if (self.username is None) != (self.password_env is None):
            raise ValueError("username and password_env go together: set both or neither")
        if not self.hosts and getattr(self, "cloud_id_env", None) is None:
            raise ValueError('hosts is required (a list of URLs such as ["https://localhost:9200"])')
        return self


class ElasticsearchSinkConfig(_ClusterSinkBase):
    type: Literal["elasticsearch"]
    cloud_id_env: str | None = None
    ilm: IlmConfig = Field(default_factory=IlmConfig)


class OpenSearchSinkConfig(_ClusterSinkBase):
    type: Literal["opensearch"]
    use_data_stream: bool = True
    ism: IsmConfig = Field(default_factory=IsmConfig)


class NdjsonSinkConfig(_SinkBase):
    type: Literal["ndjson"]
    path: PathField


class ArchiveSinkConfig(_SinkBase):
    type: Literal["archive"]
    path: PathField


SinkConfig = Annotated[
    Union[  # noqa: UP007
        DuckDBSinkConfig, ElasticsearchSinkConfig, OpenSearchSinkConfig, NdjsonSinkConfig, ArchiveSinkConfig
    ],
    Field(discriminator="type"),
]


# ---------------------------------------------------------------------------------------- the rest
class KeysConfig(_Model):
    dir: PathField = Path("keys")


class KibanaConfig(_Model):
    url: str
    api_key_env: str | None = None
    username: str | None = None
    password_env: str | None = None
    space: str = "default"
    ca_file: PathField | None = None
    verify_certs: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _http_url(v)


class PipelineConfig(_Model):
    batch_size: int = Field(5000, ge=1)
    batch_timeout_s: float = Field(2.0, gt=0)
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    queue_size: int = Field(8, ge=1)
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
        label = str(file) if file else "configuration"
        lines = [f"{label}: {_explain(err)}" for err in exc.errors()]
        raise ConfigError(
            f"invalid configuration ({len(lines)} problem(s)):\n  " + "\n  ".join(lines)
        ) from None
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


# ------------------------------------------------------------------------------- error explanation
def _strip(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _tags(model: Any) -> tuple[Any, ...]:
    field = getattr(model, "model_fields", {}).get("type")
    return get_args(field.annotation) if field else ()


def _walk(loc: tuple[Any, ...]) -> tuple[str, Any, Any]:
    """Pydantic's loc → (``sinks[1].hosts``, annotation there, model holding the last key)."""
    path, tp, parent = "", Config, None
    for item in loc:
        tp = _strip(tp)
        if isinstance(item, int):
            path += f"[{item}]"
            args = get_args(tp)
            tp = args[0] if args else Any
            continue
        if get_origin(tp) in (Union, types.UnionType):
            match = next((m for m in get_args(tp) if item in _tags(m)), None)
            if match is not None:
                tp = match
                continue
        path += f".{item}" if path else str(item)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            parent = tp
            field = tp.model_fields.get(item)
            tp = field.annotation if field else Any
        else:
            tp = Any
    return path, tp, parent


def _type_name(tp: Any) -> str:
    tp = _strip(tp)
    origin = get_origin(tp)
    if origin is list:
        return f"a list of {_type_name(get_args(tp)[0])}s"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        tags = [t for m in get_args(tp) for t in _tags(m)]
        return "a table with type = " + " | ".join(repr(t) for t in tags)
    names = {
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean (true or false)",
        Path: "path string",
    }
    if tp in names:
        return names[tp]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "a table"
    return str(tp)


def _explain(err: Any) -> str:
    loc = tuple(err["loc"])
    path, tp, parent = _walk(loc)
    kind, given = err["type"], err.get("input")
    where = path or "(top level)"
    if kind == "extra_forbidden":
        key = str(loc[-1])
        fields = list(parent.model_fields) if parent else []
        if f"{key}_env" in fields:
            return (
                f"{where}: secrets are not read from the configuration file; use "
                f'{key}_env = "VARIABLE" instead and export VARIABLE=<the {key}> in the environment'
            )
        near = difflib.get_close_matches(key, fields, n=1, cutoff=0.5)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        return f"{where}: unknown key '{key}'{hint} (valid keys: {', '.join(fields)})"
    if kind == "literal_error":
        return f"{where}: must be one of {err['ctx']['expected']}, got {given!r}"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = err.get("ctx", {}).get("expected_tags") or ", ".join(
            repr(t) for m in get_args(_strip(tp)) for t in _tags(m)
        )
        got = (
            f", got {given.get('type')!r}"
            if isinstance(given, dict) and "type" in given
            else " (the key is missing)"
        )
        return f"{where}.type: must be one of {tags}{got}"
    if kind == "missing":
        return f"{where}: required key is missing (expected {_type_name(tp)})"
    if kind in ("value_error", "assertion_error"):
        return f"{where}: {err['msg'].removeprefix('Value error, ')}"
    if kind.startswith(("greater", "less")):
        return f"{where}: {err['msg'].lower()}, got {given!r}"
    return f"{where}: expected {_type_name(tp)}, got {type(given).__name__} {given!r}"
