"""The keys every remote source's ``[[sources]]`` table shares (DESIGN §4): where to start, how to
reach the server (proxy, CA), and the bounds of the spool its files are fetched into."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pydantic import Field, field_validator

from wafpipe.config.base import HttpUrl, PathField, SourceConfigBase

DEFAULT_SPOOL_MAX_BYTES = 1 << 30
DEFAULT_SPOOL_MAX_FILES = 500


def _start_from(value: str) -> str:
    if value in ("beginning", "now"):
        return value
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f'must be "beginning", "now" or an ISO 8601 time such as "2026-12-01T00:00:00Z", got {value!r}'
        ) from None
    return value


class RemoteSourceConfigBase(SourceConfigBase):
    # "beginning": everything the server still holds; "now": only files that appear after the first
    # start; an ISO time: files whose events end at or after it. Used by the first start only: after
    # that the source's cursor in the state decides.
    start_from: str = "beginning"
    proxy_url: HttpUrl | None = None
    ca_file: PathField | None = None
    spool_dir: PathField | None = None  # default: <data_dir>/spool/sources/<name>
    spool_max_bytes: int = Field(DEFAULT_SPOOL_MAX_BYTES, ge=1 << 20)
    spool_max_files: int = Field(DEFAULT_SPOOL_MAX_FILES, ge=1)

    @field_validator("start_from")
    @classmethod
    def _check_start(cls, v: str) -> str:
        return _start_from(v)

    def start_ms(self) -> int | None:
        """``start_from`` as epoch milliseconds when it is a time (a time without zone is UTC)."""
        if self.start_from in ("beginning", "now"):
            return None
        when = datetime.fromisoformat(self.start_from.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return int(when.timestamp() * 1000)

    def spool_path(self, data_dir: Path, name: str) -> Path:
        return self.spool_dir or data_dir / "spool" / "sources" / name
