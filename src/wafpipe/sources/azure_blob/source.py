"""An Azure Blob Storage container (and prefix) as a source. How listing, ``after`` and
``start_from`` work is shared with every listed store (:mod:`wafpipe.sources.remote.listing`); this
is the Azure part. A blob's ETag is part of its key in the state: a blob overwritten under the same
name is a new delivery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO

from wafpipe.model import Problem, StateRecorder
from wafpipe.sources.azure_blob.client import remote_error
from wafpipe.sources.azure_blob.config import AzureBlobSourceConfig
from wafpipe.sources.remote.base import RemoteError
from wafpipe.sources.remote.listing import Listed, ListingSource
from wafpipe.sources.remote.spool import Spool


class AzureBlobSource(ListingSource):
    def __init__(
        self,
        config: AzureBlobSourceConfig,
        container: Any,
        spool: Spool,
        state: StateRecorder,
        on_problem: Callable[[Problem], None] | None = None,
    ) -> None:
        where = f"azure://{config.container}/{config.prefix}"
        super().__init__(config, default_name="azure_blob", where=where, spool=spool, state=state,
                         on_problem=on_problem)
        self.config = config
        self.container = container

    def _list(self) -> list[Listed]:
        return [Listed(b.name, int(b.size), b.last_modified, str(b.etag or "").strip('"'))
                for b in self.container.list_blobs(name_starts_with=self.config.prefix or None)]

    def _download(self, name: str, fh: BinaryIO) -> None:
        self.container.download_blob(name).readinto(fh)

    def _delete(self, name: str) -> None:
        self.container.delete_blob(name)

    def _error(self, exc: Exception, what: str) -> RemoteError:
        return remote_error(exc, what, self.where)
