"""What a ``[[sources]]`` table of ``type = "s3"`` accepts: a bucket Imperva pushes its files to."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from wafpipe.config.aws import AwsConnection
from wafpipe.sources.remote.config import RemoteSourceConfigBase

After = Literal["keep", "delete", "tag"]


class AwsAccess(RemoteSourceConfigBase, AwsConnection):
    """How to reach AWS (or an S3-compatible store): shared by the ``s3`` and ``sqs`` sources (the
    connection keys come from :class:`~wafpipe.config.aws.AwsConnection`, shared with the archive
    sink)."""

    max_backoff_s: float = Field(300.0, gt=0)
    patterns: list[str] = Field(default_factory=lambda: ["*.log", "*.log.gz"])
    after: After = "keep"  # once stored: leave the object, delete it, or tag it wafpipe=ingested


class S3SourceConfig(AwsAccess):
    type: Literal["s3"] = "s3"
    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = ""  # Imperva's "<bucket>/<folder>": the folder, e.g. "MyIncapsulaLogFolder/"
    poll_interval_s: float = Field(60.0, gt=0)
