"""A directory on an SSH server as a source, read over SFTP. How listing, ``after`` and
``start_from`` work is shared with every listed store (:mod:`wafpipe.sources.remote.listing`); this
is the SFTP part: files still being uploaded are left until they stop changing, and ``after`` may
also move a file to another remote directory."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from datetime import UTC, datetime
from typing import BinaryIO

from wafpipe.model import FileRef, Problem, StateRecorder
from wafpipe.sources.remote.base import RemoteError
from wafpipe.sources.remote.listing import Listed, ListingSource
from wafpipe.sources.remote.spool import Spool
from wafpipe.sources.sftp.client import RemoteFile, SftpClient, remote_error
from wafpipe.sources.sftp.config import SftpSourceConfig


class SftpSource(ListingSource):
    def __init__(
        self,
        config: SftpSourceConfig,
        client: SftpClient,
        spool: Spool,
        state: StateRecorder,
        on_problem: Callable[[Problem], None] | None = None,
    ) -> None:
        super().__init__(config, default_name="sftp", where=f"{client.server}{config.path}", spool=spool,
                         state=state, on_problem=on_problem)
        self.config = config
        self.client = client
        self._seen: dict[str, tuple[int, int, int]] = {}  # name → size, mtime, listings in a row unchanged
        self._snapshot = False

    def _remote(self, name: str) -> str:
        return posixpath.join(self.config.path, name)

    def _list(self) -> list[Listed]:
        """The files that did not change over ``stable_checks`` listings in a row: one listing per
        poll while watching, up to ``stable_checks`` back to back in a ``--once`` snapshot."""
        for _listing in range(self.config.stable_checks if self._snapshot else 1):
            files = self.client.list(self.config.path)
            stable = self._settle(files)
            if len(stable) == len(files):
                break
        return [Listed(f.name, f.size, datetime.fromtimestamp(f.mtime, UTC)) for f in stable]

    def _settle(self, files: list[RemoteFile]) -> list[RemoteFile]:
        seen: dict[str, tuple[int, int, int]] = {}
        for f in files:
            size, mtime, times = self._seen.get(f.name, (-1, -1, 0))
            seen[f.name] = (f.size, f.mtime, times + 1 if (size, mtime) == (f.size, f.mtime) else 1)
        self._seen = seen
        return [f for f in files if seen[f.name][2] >= self.config.stable_checks]

    def _download(self, name: str, fh: BinaryIO) -> None:
        self.client.download(self._remote(name), fh)

    def _delete(self, name: str) -> None:
        self.client.remove(self._remote(name))

    def _move(self, name: str) -> None:
        assert self.config.move_to is not None
        self.client.move(self._remote(name), posixpath.join(self.config.move_to, name))

    def _error(self, exc: Exception, what: str) -> RemoteError:
        """``what`` is a file name, or "listing" for the directory."""
        path = self.config.path if what == "listing" else self._remote(what)
        error = remote_error(exc, path, self.client.server, self.config.username)
        if what == "listing" and error.kind == "missing":
            return RemoteError("config", f"{self.where}: there is no remote directory {path!r} (check path)")
        return error

    def snapshot_complete(self) -> list[FileRef]:
        self._snapshot = True
        try:
            return super().snapshot_complete()
        finally:
            self._snapshot = False

    def close(self) -> None:
        self.client.close()
