"""Where a remote source puts the files it fetches: a bounded local directory, written atomically.

Why it works the way it does:

* **A remote name never chooses a local path.** Object keys, blob names, SFTP listings and
  ``logs.index`` lines come from someone else's server. :func:`local_name` refuses names that are
  absolute, hold ``..`` or ``.`` components, backslashes, NUL or other control bytes, and gives every
  accepted name a local file name of its own (a digest of the whole remote name, then its last
  part), so two remote folders holding ``1_2.log`` never meet, and the result is checked to lie
  inside the spool directory.
* **Never a partial file.** A download goes to a hidden ``.part`` file (mode 0600) that is fsynced
  and renamed into place only when complete; a failure removes it. Leftover ``.part`` files of a
  crashed run are removed at start. A decode worker only ever sees complete files.
* **Bounded: back-pressure, not a full disk.** :meth:`Spool.reserve` blocks the fetching thread
  while the spool holds ``max_files`` files or ``max_bytes`` bytes, until the collector has stored
  and acknowledged enough files (:meth:`Spool.remove`). One file larger than the whole budget is let
  in when the spool is empty, or it could never be fetched.
* **Files stay until acknowledged**: a file fetched but not yet stored when the collector stopped
  is found again by :meth:`Spool.existing` and offered without downloading it twice.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

PART_SUFFIX = ".part"
MAX_NAME_BYTES = 1024


class UnsafeName(ValueError):
    """A remote name that could write outside the spool or is not a plain file name."""


def local_name(remote: str) -> str:
    """The spool file name for ``remote``, or :class:`UnsafeName` saying what is wrong with it."""
    shown = repr(remote)[:200]
    if not remote or len(remote.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise UnsafeName(f"remote name {shown} is empty or longer than {MAX_NAME_BYTES} bytes")
    bad = sorted({f"0x{ord(c):02x}" for c in remote if ord(c) < 0x20 or ord(c) == 0x7F})
    if bad:
        raise UnsafeName(f"remote name {shown} holds control bytes ({', '.join(bad)})")
    if "\\" in remote:
        raise UnsafeName(f"remote name {shown} holds a backslash")
    if remote.startswith("/"):
        raise UnsafeName(f"remote name {shown} is an absolute path")
    parts = remote.split("/")
    if any(p in ("", ".", "..") for p in parts[:-1]) or parts[-1] in ("", ".", ".."):
        raise UnsafeName(f"remote name {shown} has an empty, '.' or '..' path component")
    digest = hashlib.blake2b(remote.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
    last = parts[-1].lstrip(".")[-120:] or "file"
    return f"{digest}_{last}"


class Spool:
    """One source's spool directory. Thread-safe: the source fetches, the collector acknowledges."""

    def __init__(self, directory: Path, *, max_bytes: int, max_files: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.max_files = max_files
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._cond = threading.Condition()
        self._sizes: dict[str, int] = {}
        self._reserved = 0
        for entry in directory.iterdir():
            if entry.name.startswith(".") and entry.name.endswith(PART_SUFFIX):
                entry.unlink(missing_ok=True)  # a download the last run did not finish
            elif entry.is_file():
                self._sizes[entry.name] = entry.stat().st_size

    # -- accounting ------------------------------------------------------------------------------
    @property
    def files(self) -> int:
        with self._cond:
            return len(self._sizes)

    @property
    def bytes(self) -> int:
        with self._cond:
            return sum(self._sizes.values())

    def _fits(self, nbytes: int) -> bool:
        held = len(self._sizes) + (1 if self._reserved else 0)
        if held == 0:
            return True
        used = sum(self._sizes.values()) + self._reserved
        return held < self.max_files and used + nbytes <= self.max_bytes

    def reserve(self, nbytes: int, stop: threading.Event, on_wait: Callable[[], None] | None = None) -> bool:
        """Wait until a file of ``nbytes`` fits, then hold the room for it; False if ``stop`` is set
        first. ``on_wait`` is called once when the wait begins (to say the spool is full)."""
        with self._cond:
            waited = False
            while not self._fits(nbytes):
                if stop.is_set():
                    return False
                if not waited and on_wait is not None:
                    on_wait()
                waited = True
                self._cond.wait(0.2)
            self._reserved += nbytes
            return True

    def try_reserve(self, nbytes: int) -> bool:
        """Hold the room for a file of ``nbytes`` if it fits now; never waits."""
        with self._cond:
            if not self._fits(nbytes):
                return False
            self._reserved += nbytes
            return True

    def unreserve(self, nbytes: int) -> None:
        with self._cond:
            self._reserved = max(0, self._reserved - nbytes)
            self._cond.notify_all()

    # -- files -----------------------------------------------------------------------------------
    def path_of(self, remote: str) -> Path:
        path = (self.directory / local_name(remote)).resolve()
        if path.parent != self.directory.resolve():
            raise UnsafeName(f"remote name {remote!r} would leave the spool")
        return path

    def existing(self, remote: str) -> Path | None:
        """The complete file fetched for ``remote`` by an earlier run and not yet acknowledged."""
        path = self.path_of(remote)
        return path if path.is_file() else None

    def fetch(self, remote: str, write: Callable[[BinaryIO], None], reserved: int = 0) -> Path:
        """Run ``write`` into a fresh partial file, then make it the spool's complete file for
        ``remote``. Any exception removes the partial file and propagates. ``reserved`` is what
        :meth:`reserve` held for it (released here either way)."""
        final = self.path_of(remote)
        part = final.with_name(f".{final.name}{PART_SUFFIX}")
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                write(fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(part, final)
            dir_fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except BaseException:
            part.unlink(missing_ok=True)
            self.unreserve(reserved)
            raise
        with self._cond:
            self._reserved = max(0, self._reserved - reserved)
            self._sizes[final.name] = final.stat().st_size
            self._cond.notify_all()
        return final

    def remove(self, path: Path | str) -> None:
        """The file is stored and acknowledged: free its room."""
        p = Path(path)
        if p.parent.resolve() != self.directory.resolve():
            return  # not ours (never happens for refs this spool made)
        p.unlink(missing_ok=True)
        with self._cond:
            self._sizes.pop(p.name, None)
            self._cond.notify_all()
