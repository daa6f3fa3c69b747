"""One connection to a syslog receiver over UDP, TCP or TLS.

Why a liveness check before each send on TCP/TLS: syslog has no acknowledgement, and a ``send`` to
a connection the receiver already closed succeeds into the kernel's buffer and is lost. A receiver
never writes on a syslog connection, so a readable socket means it was closed: the sender then
reconnects first. What remains unconfirmed is the data in flight when a receiver dies mid-send.
"""

from __future__ import annotations

import select
import socket
import ssl
from pathlib import Path

from wafpipe.sinks.syslog.framing import frame

_MAX_DATAGRAM = 65507  # the largest UDP payload over IPv4
_ACCEPT_WAIT_S = 1.0  # how long a new TLS connection is watched for the receiver refusing it


class TransportError(Exception):
    """The receiver cannot be reached or refused the connection; the message says why."""


def tls_context(ca_file: Path | None, cert_file: Path | None, key_file: Path | None) -> ssl.SSLContext:
    """Certificates are always verified and the server name checked: against ``ca_file``, else the
    system's trust store; a client certificate is offered when one is configured."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca_file) if ca_file else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file is not None and key_file is not None:
        ctx.load_cert_chain(str(cert_file), str(key_file))
    return ctx


class Connection:
    """Sends framed messages; reconnects when asked to send after a failure."""

    def __init__(
        self, address: tuple[str, int], transport: str, framing: str, *, timeout: float,
        context: ssl.SSLContext | None = None, server_name: str | None = None,
        trust: str = "the system's trust store", client_cert: bool = False,
    ) -> None:
        self.address = address
        self.transport = transport
        self.framing = framing
        self.timeout = timeout
        self.context = context
        self.server_name = server_name or address[0]
        self.trust = trust  # what the certificate is checked against, for error messages
        self.client_cert = client_cert  # whether a client certificate is offered (for error hints)
        self._sock: socket.socket | None = None

    @property
    def display(self) -> str:
        return f"{self.transport}://{self.address[0]}:{self.address[1]}"

    def send(self, messages: list[bytes]) -> None:
        """Send every message, in order; raise :class:`TransportError` when not all could be sent.
        Over UDP each message is one datagram ("sent" is all UDP can say)."""
        try:
            sock = self._connect()
            if self.transport == "udp":
                for message in messages:
                    sock.sendto(message[:_MAX_DATAGRAM], self.address)
            else:
                sock.sendall(b"".join(frame(m, self.framing) for m in messages))  # type: ignore[arg-type]
        except ssl.SSLCertVerificationError as exc:
            self.close()
            raise TransportError(f"TLS certificate of {self.display} not accepted: {exc.verify_message} "
                                 f"(checked against {self.trust} for the name {self.server_name!r})") from exc  # fmt: skip
        except ssl.SSLError as exc:
            self.close()
            raise TransportError(f"TLS with {self.display} failed: {exc.reason or exc}") from exc
        except OSError as exc:
            self.close()
            raise TransportError(f"cannot send to {self.display}: {exc.strerror or exc}") from exc

    def _connect(self) -> socket.socket:
        if self._sock is not None and self.transport != "udp" and _closed_by_peer(self._sock):
            self.close()
        if self._sock is None:
            if self.transport == "udp":
                family = socket.getaddrinfo(*self.address, type=socket.SOCK_DGRAM)[0][0]
                self._sock = socket.socket(family, socket.SOCK_DGRAM)
            else:
                sock = socket.create_connection(self.address, timeout=self.timeout)
                if self.transport == "tls":
                    assert self.context is not None
                    try:
                        sock = self.context.wrap_socket(sock, server_hostname=self.server_name)
                        self._check_accepted(sock)
                    except BaseException:
                        sock.close()
                        raise
                self._sock = sock
        return self._sock

    def _check_accepted(self, sock: ssl.SSLSocket) -> None:
        """A receiver that refuses *our* certificate (none given, or not one it trusts) closes the
        connection only after the handshake (TLS 1.3; rsyslog checks the peer after it, whatever
        the version). Messages sent before that would be lost without an error, so a new TLS
        connection is given a moment to be closed, and the receiver's alert names the problem."""
        if not _closed_by_peer(sock, wait=min(self.timeout, _ACCEPT_WAIT_S)):
            return
        try:
            sock.recv(1)
            why = "it closed the connection after the handshake"
        except ssl.SSLError as exc:
            why = str(exc.reason or exc).lower().replace("_", " ")
        except OSError as exc:
            why = exc.strerror or str(exc)
        hint = "" if self.client_cert else " (does it require a client certificate? set cert_file and key_file)"
        raise TransportError(f"the receiver {self.display} refused the TLS connection: {why}{hint}")

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None


def _closed_by_peer(sock: socket.socket, wait: float = 0.0) -> bool:
    """True when the receiver closed (or reset) the connection: it is readable without us asking
    for anything, which on a syslog connection only an end of stream or an error makes it."""
    try:
        readable, _, _ = select.select([sock], [], [], wait)
    except (OSError, ValueError):
        return True
    return bool(readable)
