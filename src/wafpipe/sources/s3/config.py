"""What a ``[[sources]]`` table of ``type = "s3"`` accepts: a bucket Imperva pushes its files to."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from wafpipe.config.base import HttpUrl
from wafpipe.sources.remote.config import RemoteSourceConfigBase

After = Literal["keep", "delete", "tag"]


class AwsAccess(RemoteSourceConfigBase):
    """How to reach AWS (or an S3-compatible store): shared by the ``s3`` and ``sqs`` sources."""

    region: str | None = None
    endpoint_url: HttpUrl | None = None  # an S3-compatible store (MinIO, Ceph, …) or a local stand-in
    path_style: bool = False  # http://host/bucket/key instead of http://bucket.host/key
    # Credentials: none of these → boto3's standard chain (environment, profile, instance role).
    access_key_id_env: str | None = None
    secret_access_key_env: str | None = None
    session_token_env: str | None = None
    role_arn: str | None = None  # assumed (STS) with the credentials above or the standard chain
    timeout_s: float = Field(60.0, gt=0)
    max_backoff_s: float = Field(300.0, gt=0)
    patterns: list[str] = Field(default_factory=lambda: ["*.log", "*.log.gz"])
    after: After = "keep"  # once stored: leave the object, delete it, or tag it wafpipe=ingested


class S3SourceConfig(AwsAccess):
    type: Literal["s3"] = "s3"
    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = ""  # Imperva's "<bucket>/<folder>": the folder, e.g. "MyIncapsulaLogFolder/"
    poll_interval_s: float = Field(60.0, gt=0)
