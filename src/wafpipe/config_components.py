"""One model per source and per sink: what each ``[[sources]]`` / ``[[sinks]]`` table accepts.

Each list is a discriminated union on ``type`` (:data:`SourceConfig`, :data:`SinkConfig`), so a
table is validated against exactly one model and an error names the keys of that model. Every model
derives from :class:`wafpipe.config_base._Model` (unknown keys refused, strict types, secrets only
through ``*_env``). ``name`` defaults to the type and keys state rows and spool directories, so it
must be safe in a file name; :func:`wafpipe.config.config_from_dict` fills and de-duplicates it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import Field, field_validator, model_validator

from wafpipe.config_base import HttpUrl, PathField, _component_name, _http_url, _Model, _namespace

_SIZE = re.compile(r"^\d+(\.\d+)?\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)$", re.I)


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
    url: HttpUrl
    api_id_env: str = "IMPERVA_API_ID"
    api_key_env: str = "IMPERVA_API_KEY"
    poll_interval_s: float = Field(60.0, gt=0)
    timeout_s: float = Field(60.0, gt=0)
    ca_file: PathField | None = None
    verify_certs: bool = True


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

