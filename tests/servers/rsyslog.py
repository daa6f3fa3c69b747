"""Debian's rsyslogd as a real syslog receiver for the syslog sink's tests.

Each server runs its own configuration from a directory of the test: imtcp on a free port (plain,
or with the gtls driver and a certificate of a test CA made here with ``cryptography``), imudp on
the same port number, and omfile writing the raw message of everything received, one per line.
It runs in the foreground (``-n``), so stopping it is stopping a process of ours; ``restart``
brings it back on the same ports (the sink's receiver coming back). Installed by ``make
install-test`` (the ``rsyslog`` target).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from .local_process import ProcessServer, accepts_connections, start_on_free_port

RSYSLOGD = Path("/usr/sbin/rsyslogd")
READY_GUARD_S = 60.0


class RsyslogUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Pki:
    ca: Path  # the test CA's certificate: what a client trusts
    cert: Path  # the server's certificate, for "localhost" and 127.0.0.1
    key: Path
    other_ca: Path  # a CA that signed nothing here: trusting it must fail the handshake
    client_cert: Path  # a client certificate the CA signed, for a receiver that asks for one
    client_key: Path


def make_pki(root: Path) -> Pki:
    """A CA, a server certificate it signs (for ``localhost`` and ``127.0.0.1``), a client
    certificate it signs, and a second, unrelated CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    root.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def ca(cn: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
                .sign(key, hashes.SHA256()))  # fmt: skip
        return cert, key

    ca_cert, ca_key = ca("wafpipe test CA")
    other, _ = ca("another test CA")
    key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder().subject_name(name("localhost")).issuer_name(ca_cert.subject)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                          x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .sign(ca_key, hashes.SHA256()))  # fmt: skip
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = (x509.CertificateBuilder().subject_name(name("wafpipe collector")).issuer_name(ca_cert.subject)
              .public_key(client_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
              .sign(ca_key, hashes.SHA256()))  # fmt: skip
    pem = serialization.Encoding.PEM
    paths = Pki(root / "ca.pem", root / "server.pem", root / "server.key", root / "other-ca.pem",
                root / "client.pem", root / "client.key")
    paths.ca.write_bytes(ca_cert.public_bytes(pem))
    paths.other_ca.write_bytes(other.public_bytes(pem))
    paths.cert.write_bytes(server.public_bytes(pem))
    paths.key.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    paths.key.chmod(0o600)
    paths.client_cert.write_bytes(client.public_bytes(pem))
    paths.client_key.write_bytes(client_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))  # fmt: skip
    paths.client_key.chmod(0o600)
    return paths


class RsyslogServer(ProcessServer):
    """``with RsyslogServer(dir) as rs:`` → ``rs.port`` takes TCP (TLS when ``pki`` is given) and
    UDP; :meth:`lines` is what it received, in arrival order."""

    def __init__(self, root: Path, pki: Pki | None = None, *, client_certs: bool = False) -> None:
        super().__init__()
        self.root = root
        self.pki = pki
        self.client_certs = client_certs  # TLS: only clients with a certificate of the CA are accepted
        self.output = root / "received.log"

    def _config(self, port: int) -> Path:
        work = self.root / "work"
        work.mkdir(parents=True, exist_ok=True)
        tls = ""
        if self.pki is not None:
            auth = "x509/certvalid" if self.client_certs else "anon"
            tls = (f'global(defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile="{self.pki.ca}" '
                   f'defaultNetstreamDriverCertFile="{self.pki.cert}" defaultNetstreamDriverKeyFile="{self.pki.key}")\n'
                   'module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" '
                   f'streamDriver.authMode="{auth}")\n')  # fmt: skip
        else:
            tls = 'module(load="imtcp")\n'
        conf = self.root / "rsyslog.conf"
        conf.write_text(
            f'global(workDirectory="{work}" maxMessageSize="256k")\n'
            f"{tls}"
            'module(load="imudp")\n'
            f'input(type="imtcp" port="{port}" address="127.0.0.1")\n'
            f'input(type="imudp" port="{port}" address="127.0.0.1")\n'
            'template(name="raw" type="string" string="%rawmsg%\\n")\n'
            f'action(type="omfile" file="{self.output}" template="raw" flushOnTXEnd="on" asyncWriting="off")\n'
        )
        return conf

    def _command(self, port: int) -> list[str]:
        return [str(RSYSLOGD), "-n", "-f", str(self._config(port)), "-i", str(self.root / "rsyslogd.pid")]

    def start(self) -> Self:
        if not RSYSLOGD.exists():
            raise RsyslogUnavailable(f"{RSYSLOGD} is missing: run `make install-test` (installs Debian's rsyslog)")
        self.root.mkdir(parents=True, exist_ok=True)
        if not self._launch(self._command, accepts_connections):
            raise RsyslogUnavailable(f"rsyslogd did not start; its configuration is {self.root / 'rsyslog.conf'}")
        return self

    def restart(self) -> None:
        """Back on the same port after :meth:`stop` (the port may be taken meanwhile: then fail)."""
        port = self.port
        started = start_on_free_port(lambda _p: self._command(port), lambda _p: accepts_connections(port))
        if started is None:
            raise RsyslogUnavailable(f"rsyslogd did not come back on port {port}")
        self.proc = started[0]

    @property
    def is_up(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def lines(self) -> list[str]:
        """Every message received so far (a partly written last line is left for the next look)."""
        try:
            data = self.output.read_bytes()
        except FileNotFoundError:
            return []
        return data[: data.rfind(b"\n") + 1].decode("utf-8", "replace").splitlines()

    def wait_for(self, count: int, timeout: float = 120.0) -> list[str]:
        """The received lines once there are at least ``count`` (a deadline guards a hang only)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.lines()
            if len(got) >= count or time.monotonic() > deadline:
                return got
            time.sleep(0.1)


def refuses_connections(port: int) -> bool:
    """Nothing listens on ``port`` (the receiver is really down)."""
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) != 0
