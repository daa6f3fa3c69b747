"""What a ``[[sinks]]`` table of ``type = "archive"`` accepts: where the archive lives — a directory
(``path``) or an S3 bucket (``s3 = {...}``), exactly one — and how its Parquet is written.

The S3 target takes the same connection and credential keys as the ``s3`` source
(:class:`~wafpipe.config.aws.AwsConnection`: secrets only by the name of an environment variable),
plus its Object Lock policy: a compliance archive expects its bucket to refuse rewrites, so
``object_lock = "required"`` (the default) refuses to open a bucket without Object Lock rather than
archive unprotected; ``"if_available"`` archives either way and says which.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from wafpipe.config.aws import AwsConnection
from wafpipe.config.base import PathField, SinkConfigBase


class ArchiveS3Config(AwsConnection):
    """The ``s3`` table of an archive sink: a bucket, a prefix in it, and the Object Lock policy."""

    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = ""  # the archive's root in the bucket, e.g. "waf-archive/" (a trailing / is added)
    object_lock: Literal["required", "if_available"] = "required"
    retention_mode: Literal["compliance", "governance"] = "compliance"
    # retain-until = the write's time + this; unset: the bucket's default retention period
    retention_days: int | None = Field(None, ge=1, le=36500)

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        v = v.strip("/")
        if any(part in ("", ".", "..") for part in v.split("/")) and v:
            raise ValueError(f"must be a key prefix such as \"waf-archive\" without empty, . or .. parts, got {v!r}")
        return f"{v}/" if v else ""


class ArchiveSinkConfig(SinkConfigBase):
    type: Literal["archive"] = "archive"
    path: PathField | None = None  # the archive's root directory (created when missing)
    s3: ArchiveS3Config | None = None  # or: the archive's bucket and prefix
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    # Parquet row groups: bigger reads faster in DuckDB/Spark/Athena, smaller keeps memory flat
    row_group_rows: int = Field(100_000, ge=1_000, le=10_000_000)

    @model_validator(mode="after")
    def _one_target(self) -> ArchiveSinkConfig:
        if (self.path is None) == (self.s3 is None):
            raise ValueError('an archive needs exactly one target: path = "<directory>" or '
                             's3 = { bucket = "<bucket>", prefix = "<prefix>" }'
                             + (" (both are set)" if self.path is not None else ""))  # fmt: skip
        return self

    @property
    def where(self) -> str:
        """The target as a person names it: the directory, or ``s3://bucket/prefix``."""
        return str(self.path) if self.s3 is None else f"s3://{self.s3.bucket}/{self.s3.prefix}"
