"""The API token and the address file (DESIGN §4: "the token comes from the environment or a 0600
file in the data directory").

The token is ``$WAFPIPE_API_TOKEN`` when set, else the file ``<data_dir>/api.token``: created once
(mode 0600, published atomically with ``link`` so two collectors starting together agree on one
token) and reused at every restart, so Prometheus can read it as ``bearer_token_file`` and the
scrape keeps working across restarts. ``api.json`` (0600) tells local commands the URL and the pid
of the collector that serves it; it does not hold the token.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import stat
from pathlib import Path

from wafpipe.errors import ConfigError
from wafpipe.store.client import API_FILE, TOKEN_ENV, TOKEN_FILE

log = logging.getLogger("wafpipe.collector.api")

MIN_TOKEN_CHARS = 16


def _write_private(path: Path, text: str) -> Path:
    """A new file next to ``path`` with mode 0600 holding ``text``, fsync'd; returns its name."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    return tmp


def _read_token_file(path: Path) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read the API token file {path}: {exc.strerror}") from None
    with os.fdopen(fd) as fh:
        mode = os.fstat(fh.fileno()).st_mode
        token = fh.read(4096).strip()
    if stat.S_IMODE(mode) & 0o077:
        os.chmod(path, 0o600)
        log.warning("%s was readable by others (mode %o); set it to 0600", path, stat.S_IMODE(mode))
    return token or None


def chosen_token(token_file: Path | None) -> tuple[str, Path | None] | None:
    """The token a person chose: ``$WAFPIPE_API_TOKEN``, else ``[api] token_file`` (which must exist,
    with mode 0600); None when neither is set."""
    env = os.environ.get(TOKEN_ENV, "").strip()
    if env:
        if len(env) < MIN_TOKEN_CHARS:
            raise ConfigError(f"${TOKEN_ENV} must be at least {MIN_TOKEN_CHARS} characters long")
        return env, None
    if token_file is None:
        return None
    try:
        mode = stat.S_IMODE(token_file.stat().st_mode)
    except OSError as exc:
        raise ConfigError(f"[api] token_file {token_file}: {exc.strerror}") from None
    if mode & 0o077:
        raise ConfigError(f"[api] token_file {token_file} may be read by others (mode {mode:04o})",
                          hint=f"chmod 600 {token_file}")
    token = _read_token_file(token_file)
    if token is None or len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(f"[api] token_file {token_file} must hold a token of at least {MIN_TOKEN_CHARS} characters")
    return token, token_file


def load_or_create_token(data_dir: Path, token_file: Path | None = None) -> tuple[str, Path | None]:
    """(token, the file it lives in — None when it comes from the environment): the chosen one
    (:func:`chosen_token`), else ``<data_dir>/api.token``, created once."""
    chosen = chosen_token(token_file)
    if chosen is not None:
        return chosen
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / TOKEN_FILE
    token = _read_token_file(path)
    if token is not None and len(token) >= MIN_TOKEN_CHARS:
        return token, path
    if token is not None:  # empty or truncated by hand: replace it
        log.warning("%s holds no usable token; writing a new one", path)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    tmp = _write_private(path, secrets.token_urlsafe(32) + "\n")
    try:
        os.link(tmp, path)  # fails if another process published first: then use its token
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    token = _read_token_file(path)
    if token is None:
        raise ConfigError(f"could not create the API token file {path}")
    return token, path


def write_api_file(data_dir: Path, url: str, token_file: Path | None, tls_cert_file: Path | None = None) -> None:
    """``api.json`` (0600): where this collector listens, which process it is, and (with TLS) the
    certificate local commands pin."""
    path = data_dir / API_FILE
    info = {"url": url, "pid": os.getpid(), "token_file": str(token_file) if token_file else None,
            "tls_cert_file": str(tls_cert_file) if tls_cert_file else None}
    tmp = _write_private(path, json.dumps(info))
    os.replace(tmp, path)


def remove_api_file(data_dir: Path) -> None:
    """Remove ``api.json`` if this process wrote it (a newer collector may have replaced it)."""
    path = data_dir / API_FILE
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass
