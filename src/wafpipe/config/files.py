"""Who may read wafpipe's files (issue 18: the data directory is private; keys and config are checked).

The data directory holds every event (the DuckDB store, spool segments, quarantine copies), the
state and the local API's token, so any local user who can read it reads the logs without the
token. Hence:

* the data directory is created mode 0700 and every file wafpipe creates in it is 0600, whatever the
  umask: the command line sets ``umask 077`` before it touches the data directory (:func:`private_umask`,
  which also covers files that libraries create later, such as SQLite's ``-wal``/``-shm`` and DuckDB's
  ``.wal``), and the code that creates a file chmods it explicitly (:func:`private_dir`,
  :func:`make_private`) so the library API is private too;
* a private key or a configuration file that group or others can read (or write) is reported with
  the ``chmod`` that fixes it (:func:`permission_warnings`). A warning, not an error: the operator
  may have reasons, and refusing to start would turn a hardening hint into an outage.

An existing data directory is not chmod'ed behind the operator's back (it may be shared on purpose);
it is warned about like a key.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def private_umask() -> int:
    """Set ``umask 077`` for this process (and the processes it starts); returns the old umask."""
    return os.umask(0o077)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) with mode 0700; an existing directory is left as it is."""
    path = Path(path)
    if not path.is_dir():
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # umask-independent; a directory we do not own stays as is
            os.chmod(path, PRIVATE_DIR_MODE)
    return path


def make_private(*paths: Path | str) -> None:
    """chmod 0600 each of ``paths`` that exists (files a library created for us)."""
    for p in paths:
        with contextlib.suppress(FileNotFoundError, PermissionError):
            mode = stat.S_IMODE(os.stat(p).st_mode)
            if mode & 0o077:
                os.chmod(p, PRIVATE_FILE_MODE)


def create_private(path: Path | str, *, exclusive: bool = True) -> int:
    """``os.open`` a new file for writing with mode 0600 (O_EXCL unless ``exclusive`` is false)."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | (os.O_EXCL if exclusive else 0)
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    with contextlib.suppress(OSError):
        os.fchmod(fd, PRIVATE_FILE_MODE)
    return fd


def _open_to_others(path: Path) -> int | None:
    """The mode of ``path`` when group or others have any access to it, else None."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & 0o077 else None


def key_files(keys_dir: Path | None) -> Iterator[Path]:
    """The private keys in a keys directory: ``<publicKeyId>/Private.key`` and ``<publicKeyId>.pem``."""
    if keys_dir is None or not keys_dir.is_dir():
        return
    try:
        entries = sorted(keys_dir.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.is_file() and entry.suffix == ".pem":
            yield entry
        elif entry.is_dir() and (entry / "Private.key").is_file():
            yield entry / "Private.key"


def permission_warnings(
    *, config_file: Path | None, keys_dir: Path | None, data_dir: Path | None = None
) -> list[str]:
    """One line per file that group or others can access, naming it and the ``chmod`` that fixes it."""
    out: list[str] = []
    for key in key_files(keys_dir):
        mode = _open_to_others(key)
        if mode is not None:
            out.append(
                f"private key {key} is accessible by group/others (mode {mode:04o}): anyone who can read it "
                f"can decrypt the logs; fix: chmod 600 {key}"
            )
    if config_file is not None:
        mode = _open_to_others(config_file)
        if mode is not None:
            out.append(
                f"configuration file {config_file} is accessible by group/others (mode {mode:04o}): it names "
                f"the key and data directories and may hold user names and URLs; fix: chmod 600 {config_file}"
            )
    if data_dir is not None:
        mode = _open_to_others(data_dir)
        if mode is not None and data_dir.is_dir():
            out.append(
                f"data directory {data_dir} is accessible by group/others (mode {mode:04o}): it holds every "
                f"event and the API token; fix: chmod 700 {data_dir}"
            )
    return out
