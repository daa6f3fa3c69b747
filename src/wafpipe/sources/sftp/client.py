"""One SFTP session for a source that runs in a thread, and SSH's failures as remote-source errors.

asyncssh is asynchronous and the collector's sources are threads, so the session lives on an event
loop of its own (one thread per source); the source's thread and the collector's acknowledgements
call the blocking methods below, which run their coroutine there and wait for it.

* **The server is who known_hosts says it is.** The file is read at every connection (trusting a key
  needs no restart). An unknown or changed key is refused with the key's type and SHA256
  fingerprint, and the command that trusts it; a changed key says that it may be an attack.
* **A lost connection is dropped**, reported as transient (the source backs off and tries again),
  and the next call connects afresh. A download cut half-way leaves nothing behind: the spool
  removes its partial file.
* **Secrets** (password, key passphrase) are handed to asyncssh only; the key is loaded once, at
  start-up, where a wrong passphrase is a configuration error.
* ``proxy_url``: an HTTP proxy that allows ``CONNECT`` carries the SSH connection.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import unquote, urlsplit

import asyncssh

from wafpipe.errors import ConfigError, redact
from wafpipe.sources.remote.base import RemoteError
from wafpipe.sources.sftp.config import SftpSourceConfig

T = TypeVar("T")
CHUNK = 1 << 20  # bytes per read; asyncssh pipelines the requests of one read
MAX_PROXY_REPLY = 16 << 10
CONNECTION_ERRORS = (OSError, asyncssh.ConnectionLost, asyncssh.DisconnectError, asyncssh.SFTPConnectionLost)


@dataclass(frozen=True)
class RemoteFile:
    name: str  # the name in the directory
    size: int
    mtime: int  # seconds since the epoch


class _KeyRecorder(asyncssh.SSHClient):
    """Keeps the host key the server offered when known_hosts did not vouch for it (then refuses it),
    so the refusal can show its fingerprint."""

    def __init__(self) -> None:
        self.offered: asyncssh.SSHKey | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.offered = key
        return False


def known_hosts_name(host: str, port: int) -> str:
    """How known_hosts (and ``ssh-keygen -R``) name the server."""
    return host if port == 22 else f"[{host}]:{port}"


class SftpClient:
    def __init__(self, config: SftpSourceConfig, *, key: asyncssh.SSHKey | None, password: str | None) -> None:
        self.config = config
        self.server = f"sftp://{known_hosts_name(config.host, config.port)}"  # no user@: messages name it apart
        self._key = key
        self._password = password
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"sftp:{config.name}", daemon=True)
        self._thread.start()
        self._lock = asyncio.Lock()
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None

    # -- what the source calls (from any thread) -------------------------------------------------
    def list(self, directory: str) -> list[RemoteFile]:
        """The regular files of ``directory`` (not its subdirectories)."""

        async def run(sftp: asyncssh.SFTPClient) -> list[RemoteFile]:
            names = await self._timed(sftp.readdir(directory))
            return [RemoteFile(n.filename, int(n.attrs.size or 0), int(n.attrs.mtime or 0)) for n in names
                    if n.attrs.type == asyncssh.FILEXFER_TYPE_REGULAR and n.filename not in (".", "..")]

        return self._call(run)

    def download(self, path: str, fh: BinaryIO) -> None:
        async def run(sftp: asyncssh.SFTPClient) -> None:
            async with await self._timed(sftp.open(path, "rb")) as remote:
                offset = 0
                while chunk := await self._timed(remote.read(CHUNK, offset)):
                    fh.write(chunk)
                    offset += len(chunk)

        self._call(run)

    def remove(self, path: str) -> None:
        self._call(lambda sftp: self._timed(sftp.remove(path)))

    def move(self, path: str, target: str) -> None:
        """Rename ``path`` to ``target``, replacing a file of that name (OpenSSH's posix-rename)."""

        async def run(sftp: asyncssh.SFTPClient) -> None:
            try:
                await self._timed(sftp.posix_rename(path, target))
            except asyncssh.SFTPOpUnsupported:
                await self._timed(sftp.rename(path, target))

        self._call(run)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self._drop(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    # -- on the loop -----------------------------------------------------------------------------
    def _call(self, operation: Callable[[asyncssh.SFTPClient], Awaitable[T]]) -> T:
        async def run() -> T:
            try:
                return await operation(await self._session())
            except CONNECTION_ERRORS:
                await self._drop()
                raise

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result()

    async def _timed(self, step: Awaitable[T]) -> T:
        return await asyncio.wait_for(step, self.config.timeout_s)

    async def _session(self) -> asyncssh.SFTPClient:
        async with self._lock:
            if self._sftp is None:
                self._conn = await self._connect()
                self._sftp = await self._timed(self._conn.start_sftp_client(path_errors="surrogateescape"))
            return self._sftp

    async def _drop(self) -> None:
        conn, self._conn, self._sftp = self._conn, None, None
        if conn is not None:
            conn.close()
            with contextlib.suppress(OSError, asyncssh.Error):
                await asyncio.wait_for(conn.wait_closed(), self.config.timeout_s)

    async def _connect(self) -> asyncssh.SSHClientConnection:
        config = self.config
        known = self._known_hosts()
        recorder = _KeyRecorder()
        sock = None
        if config.proxy_url:
            sock = await self._loop.run_in_executor(None, connect_through_proxy, config.proxy_url, config.host,
                                                    config.port, config.timeout_s)
        connecting: Coroutine[Any, Any, asyncssh.SSHClientConnection] = asyncssh.connect(
            config.host, config.port, sock=sock, username=config.username, known_hosts=known,
            client_factory=lambda: recorder, client_keys=[self._key] if self._key else None,
            password=self._password, agent_path=None, config=None, connect_timeout=config.timeout_s,
            login_timeout=config.timeout_s,
            # a silent peer (a cut network, no reset) is declared dead within about timeout_s, so
            # no step (closing a file included) waits on it for ever
            keepalive_interval=max(1.0, config.timeout_s / 3), keepalive_count_max=3)
        try:
            return await self._timed(connecting)
        except asyncssh.HostKeyNotVerifiable:
            raise self._host_key_refused(known, recorder.offered) from None

    def _known_hosts(self) -> asyncssh.SSHKnownHosts:
        path = self.config.known_hosts
        try:
            return asyncssh.import_known_hosts(path.read_text())
        except FileNotFoundError:
            return asyncssh.import_known_hosts("")  # every key is unknown: refused below, with the fix
        except (OSError, ValueError) as exc:
            raise RemoteError("config", f"{self.server}: known_hosts {path} cannot be read: {exc}") from None

    def _host_key_refused(self, known: asyncssh.SSHKnownHosts, offered: asyncssh.SSHKey | None) -> RemoteError:
        config, path = self.config, self.config.known_hosts
        name = known_hosts_name(config.host, config.port)
        shown = f"{offered.get_algorithm()} {offered.get_fingerprint('sha256')}" if offered else "(none offered)"
        trust = (f"trust it with: ssh-keyscan -p {config.port} {config.host} >> {path} (after checking the "
                 "fingerprint on the server: ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub)")
        if known.match(config.host, config.host, config.port)[0]:
            return RemoteError("config", f"{self.server}: the server's host key CHANGED: it offers {shown}, not the "
                               f"key {path} lists for {name}. Refused: someone may be between you and the "
                               f"server. If the server's key really changed, remove the old entry with "
                               f"ssh-keygen -R '{name}' -f {path}, then {trust}")
        where = "is not in" if path.exists() else "cannot be checked: there is no file"
        return RemoteError("config", f"{self.server}: the server's host key {shown} {where} {path}; if it is your "
                           f"server's key, {trust}")


def connect_through_proxy(proxy_url: str, host: str, port: int, timeout_s: float) -> socket.socket:
    """A socket to ``host:port`` through an HTTP proxy's ``CONNECT`` (credentials from the URL)."""
    parts = urlsplit(proxy_url)
    shown = redact(proxy_url)
    sock = socket.create_connection((parts.hostname or "", parts.port or 80), timeout=timeout_s)
    try:
        request = f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        if parts.username is not None:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            request += f"Proxy-Authorization: Basic {base64.b64encode(pair).decode()}\r\n"
        sock.sendall(f"{request}\r\n".encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            got = sock.recv(1)  # byte by byte: what follows the reply is the SSH server's
            if not got or len(reply) > MAX_PROXY_REPLY:
                raise RemoteError("transient", f"proxy {shown} closed the connection before answering CONNECT")
            reply += got
        status = reply.split(b"\r\n", 1)[0].decode("latin-1")
        code = status.split(" ")[1] if status.count(" ") else ""
        if code != "200":
            kind = "transient" if code.startswith("5") else "config"
            hint = " (it wants credentials: user:password@ in proxy_url)" if code == "407" else ""
            raise RemoteError(kind, f"proxy {shown} refused CONNECT {host}:{port}: {status}{hint}")
        sock.settimeout(None)
        return sock
    except BaseException:
        sock.close()
        raise


def remote_error(exc: Exception, what: str, where: str, username: str) -> RemoteError:
    """An exception of an SFTP call as a :class:`RemoteError` whose message says what to do."""
    if isinstance(exc, RemoteError):
        return exc
    if isinstance(exc, asyncssh.PermissionDenied):
        return RemoteError("auth", f"{where}: the server refused user {username!r}: check private_key_file (its "
                           "public key must be in the user's authorized_keys on the server) or the variable "
                           "named by password_env")
    if isinstance(exc, asyncssh.SFTPNoSuchFile | asyncssh.SFTPNoSuchPath):
        return RemoteError("missing", f"{where}: {what}: no such file or directory")
    if isinstance(exc, asyncssh.SFTPPermissionDenied):
        return RemoteError("denied", f"{where}: {what}: permission denied for user {username!r}; on the server, "
                           f"let that user read it (e.g. chmod o+r, or chgrp to a group of the user), and for "
                           f"after = \"delete\" or \"move\" write the directory")
    if isinstance(exc, CONNECTION_ERRORS):
        return RemoteError("transient", f"{where}: {what}: {type(exc).__name__}: {exc or 'connection lost'}")
    if isinstance(exc, asyncssh.Error):
        return RemoteError("transient", f"{where}: {what}: {type(exc).__name__}: {exc}")
    raise exc


def load_key(path: Path, passphrase: str | None) -> asyncssh.SSHKey:
    """The private key, refused when others may read it (as ssh does) or when it cannot be decrypted."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError as exc:
        raise ConfigError(f"private_key_file {path}: {exc.strerror}") from None
    if mode & 0o077:
        raise ConfigError(f"private_key_file {path} may be read by others (mode {mode:04o})",
                          hint=f"chmod 600 {path}")
    try:
        return asyncssh.read_private_key(path, passphrase)
    except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
        hint = "check the variable named by private_key_passphrase_env" if passphrase else \
            "an encrypted key needs private_key_passphrase_env"
        raise ConfigError(f"private_key_file {path} cannot be read: {exc}", hint=hint) from None
