"""The rules every configuration table follows: the base model and the shared value checks.

Why these rules:

* ``extra="forbid"`` everywhere, because a misspelt key silently ignored is the most expensive kind
  of configuration bug; the error names the nearest valid key (:mod:`wafpipe.config.errors`).
* ``strict`` numbers and booleans, because TOML has real types and ``batch_size = "5000"`` is more
  likely a mistake than an intent. Paths are the exception: they are written as strings
  (:data:`PathField`).
* Secrets are never read from the file: only ``*_env`` keys that *name* an environment variable, so a
  config file can be committed, shared and printed. A literal ``api_key``/``password`` is refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from wafpipe.errors import ConfigError, redact

PathField = Annotated[Path, Field(strict=False)]
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COMPONENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
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
    """An http(s) URL whose host and port parse. Messages show it redacted: a password written into
    the URL (``https://user:pw@host``) is never echoed (:func:`wafpipe.errors.redact`)."""
    shown = redact(repr(value))
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError(f"must be an http:// or https:// URL, got {shown}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - parsing the port is the check (out of range, not a number)
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({redact(str(exc))}), got {shown}") from None
    if not parts.hostname:
        raise ValueError(f"has no host name, got {shown}")
    return value.rstrip("/") if value.count("/") > 2 and value.endswith("/") else value


# A URL field: one validator, wherever a model takes an http(s) URL.
HttpUrl = Annotated[str, AfterValidator(_http_url)]


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


def namespace_keys(value: dict[str, Any]) -> dict[str, Any]:
    """A per-namespace table's keys are namespaces (``namespaces = { payments = … }``): each checked
    as a namespace is (use as ``Annotated[dict[str, X], AfterValidator(namespace_keys)]``)."""
    for name in value:
        _namespace(name)
    return value


# Which event field each ``namespace_rules`` match compares (ECS paths of the Batch's columns).
RULE_FIELDS = {"account_id": "imperva.waf.account.id", "site_id": "imperva.waf.site.id", "site_tag": "imperva.waf.site.tag"}


class NamespaceRule(_Model):
    """One ``namespace_rules`` entry: events whose field equals ``value`` belong to ``namespace``.
    Shared by the cluster sinks (which data stream) and the embedded store (which retention)."""

    match: Literal["account_id", "site_id", "site_tag"]
    value: str
    namespace: str

    @field_validator("namespace")
    @classmethod
    def _ns(cls, v: str) -> str:
        return _namespace(v)


def _component_name(v: str | None) -> str | None:
    """Names key state rows and spool directories, so they must be safe in a file name."""
    if v is not None and not _COMPONENT_NAME.match(v):
        raise ValueError(
            f"must be 1-64 letters, digits, '_', '.', '-' starting with a letter or digit (got {v!r})"
        )
    return v


# Shared by every [[sources]] / [[sinks]] entry: ``name`` keys state rows and spool directories,
# so it must be safe in a file name; the root table fills and de-duplicates it.
class SourceConfigBase(_Model):
    name: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return _component_name(v)


class SinkConfigBase(_Model):
    name: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return _component_name(v)
