"""What a ``[[sources]]`` table of ``type = "sqs"`` accepts: S3 event notifications on a queue."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from wafpipe.config.base import HttpUrl
from wafpipe.sources.s3.config import AwsAccess


class SqsSourceConfig(AwsAccess):
    type: Literal["sqs"] = "sqs"
    queue_url: HttpUrl
    wait_time_s: int = Field(20, ge=0, le=20)  # SQS long polling: at most 20 s
    visibility_timeout_s: int = Field(300, ge=10, le=43200)
    max_messages: int = Field(10, ge=1, le=10)

    @model_validator(mode="after")
    def _visibility_outlasts_a_poll(self) -> SqsSourceConfig:
        if self.visibility_timeout_s < 2 * self.wait_time_s + 5:
            raise ValueError(
                f"visibility_timeout_s ({self.visibility_timeout_s}) must be at least 2 × wait_time_s + 5 "
                f"({2 * self.wait_time_s + 5}): a message being worked on is kept hidden between two polls"
            )
        return self
