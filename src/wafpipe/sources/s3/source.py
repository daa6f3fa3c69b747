"""An S3 bucket (and prefix) as a source. How listing, ``after`` and ``start_from`` work is shared
with every listed store (:mod:`wafpipe.sources.remote.listing`); this is the S3 part."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from wafpipe.model import Problem, StateRecorder
from wafpipe.sources.remote.base import RemoteError
from wafpipe.sources.remote.listing import Listed, ListingSource
from wafpipe.sources.remote.spool import Spool
from wafpipe.sources.s3.client import remote_error
from wafpipe.sources.s3.config import S3SourceConfig

TAG = {"TagSet": [{"Key": "wafpipe", "Value": "ingested"}]}


class S3Source(ListingSource):
    def __init__(
        self,
        config: S3SourceConfig,
        s3: Any,
        spool: Spool,
        state: StateRecorder,
        on_problem: Callable[[Problem], None] | None = None,
    ) -> None:
        super().__init__(config, default_name="s3", where=f"s3://{config.bucket}/{config.prefix}", spool=spool,
                         state=state, on_problem=on_problem)
        self.config = config
        self.s3 = s3

    def _list(self) -> list[Listed]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.config.bucket, Prefix=self.config.prefix)
        return [Listed(o["Key"], int(o["Size"]), o["LastModified"], str(o.get("ETag", "")).strip('"'))
                for page in pages for o in page.get("Contents", [])]

    def _download(self, name: str, fh: BinaryIO) -> None:
        self.s3.download_fileobj(self.config.bucket, name, fh)

    def _delete(self, name: str) -> None:
        self.s3.delete_object(Bucket=self.config.bucket, Key=name)

    def _tag(self, name: str) -> None:
        self.s3.put_object_tagging(Bucket=self.config.bucket, Key=name, Tagging=TAG)

    def _error(self, exc: Exception, what: str) -> RemoteError:
        return remote_error(exc, what, self.where)
