"""What a ``[[sinks]]`` table of ``type = "elasticsearch"`` or ``type = "opensearch"`` accepts.

Both engines share the client, the spool and the senders; the models differ only in the lifecycle
policy each engine has (ILM for Elasticsearch, ISM for OpenSearch) and OpenSearch's option to write
to an alias instead of a data stream.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from wafpipe.config.base import (
    HttpUrl,
    NamespaceRule,
    PathField,
    SinkConfigBase,
    _http_url,
    _Model,
    _namespace,
    namespace_keys,
)
from wafpipe.store.retention import PROFILES, ProfileName


class LifecycleOverride(_Model):
    """``ilm.namespaces.<ns>`` / ``ism.namespaces.<ns>``: how long one namespace's indices are kept,
    with the same two keys as the policy it overrides (one of them); rollover stays the sink's."""

    delete_after_days: int | None = Field(None, ge=1)
    profile: ProfileName | None = None

    @model_validator(mode="after")
    def _one(self) -> LifecycleOverride:
        if (self.delete_after_days is None) == (self.profile is None):
            raise ValueError('set one of profile (e.g. "pci-dss") or delete_after_days')
        return self


class IlmConfig(_Model):
    delete_after_days: int = Field(30, ge=1)
    rollover_max_age: str = "1d"
    rollover_max_primary_shard_size: str = "50gb"
    # a compliance profile: delete after its days, hot → warm (after WARM_AFTER_DAYS) → cold (after
    # its searchable days) → delete; replaces delete_after_days
    profile: ProfileName | None = None
    # namespace → its own retention: a policy of its own, named by a template of higher priority
    namespaces: Annotated[dict[str, LifecycleOverride], AfterValidator(namespace_keys)] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_retention(self) -> IlmConfig:
        if self.profile is not None and "delete_after_days" in self.model_fields_set:
            raise ValueError(f"profile {self.profile!r} sets how long indices are kept: remove delete_after_days")
        return self

    def lifecycle(self, namespace: str | None = None) -> dict[str, Any]:
        """The policy's arguments (:func:`~.assets.templates.ilm_policy`, ``ism_policy``): the
        sink's, or with ``namespace`` that namespace's override (its retention, the sink's rollover)."""
        override = self.namespaces[namespace] if namespace is not None else None
        name = override.profile if override is not None else self.profile
        days = override.delete_after_days if override is not None else self.delete_after_days
        profile = PROFILES[name] if name is not None else None
        return {"delete_after_days": profile.keep_days if profile else days,
                "rollover_max_age": self.rollover_max_age,
                "rollover_max_primary_shard_size": self.rollover_max_primary_shard_size,
                "cold_after_days": profile.searchable_days if profile else None}  # fmt: skip


class IsmConfig(IlmConfig):
    """Same knobs as ILM, installed as an OpenSearch ISM policy."""


class ClusterSinkConfig(SinkConfigBase):
    hosts: list[str] = Field(default_factory=list)
    namespace: str = "default"
    api_key_env: str | None = None
    username: str | None = None
    password_env: str | None = None
    ca_file: PathField | None = None
    verify_certs: bool = True
    ssl_assert_fingerprint: str | None = None
    spool_dir: PathField | None = None  # None → default_spool_dir()
    spool_max_bytes: int = Field(1 << 30, ge=1 << 20)
    namespace_rules: list[NamespaceRule] = Field(default_factory=list)
    batch_size: int = Field(1000, ge=1)
    max_retries: int = Field(5, ge=0)
    timeout_s: float = Field(30.0, gt=0)

    def default_spool_dir(self, data_dir: Path) -> Path:
        """``<data_dir>/spool/<sink name>``: where the spool lives when ``spool_dir`` is not set."""
        return data_dir / "spool" / str(self.name or self.type)

    @field_validator("namespace")
    @classmethod
    def _ns(cls, v: str) -> str:
        return _namespace(v)

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, v: list[str]) -> list[str]:
        return [_http_url(h) for h in v]

    @model_validator(mode="after")
    def _auth(self) -> ClusterSinkConfig:
        if (self.username is None) != (self.password_env is None):
            raise ValueError("username and password_env go together: set both or neither")
        if not self.hosts and getattr(self, "cloud_id_env", None) is None:
            raise ValueError('hosts is required (a list of URLs such as ["https://localhost:9200"])')
        return self

    @model_validator(mode="after")
    def _overrides_reachable(self) -> ClusterSinkConfig:
        """A retention for a namespace no event can reach is a typo that would leave the namespace
        it meant on the default policy: refused, naming the namespaces this sink writes."""
        key = "ilm" if hasattr(self, "ilm") else "ism"
        policy: IlmConfig = getattr(self, key)
        known = list(dict.fromkeys([self.namespace, *(r.namespace for r in self.namespace_rules)]))
        for name in policy.namespaces:
            if name not in known:
                raise ValueError(f"{key}.namespaces.{name}: no event reaches namespace {name!r} (this sink writes "
                                 f"{', '.join(known)}: namespace and namespace_rules)")
        return self


class ElasticsearchSinkConfig(ClusterSinkConfig):
    type: Literal["elasticsearch"]
    cloud_id_env: str | None = None
    ilm: IlmConfig = Field(default_factory=IlmConfig)


class OpenSearchSinkConfig(ClusterSinkConfig):
    type: Literal["opensearch"]
    use_data_stream: bool = True
    ism: IsmConfig = Field(default_factory=IsmConfig)


class KibanaConfig(_Model):
    """``[kibana]``: where ``wafpipe elastic setup`` installs the data view and dashboards."""


    url: HttpUrl
    api_key_env: str | None = None
    username: str | None = None
    password_env: str | None = None
    space: str = "default"
    ca_file: PathField | None = None
    verify_certs: bool = True
