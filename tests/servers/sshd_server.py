"""Debian's OpenSSH server (``openssh-server``, installed by ``make install-test``) on 127.0.0.1
with a free port, a fresh host key and one authorized client key, serving SFTP only.

The login user is never root, so that file permissions apply (root reads everything): when the
tests run as root it is ``nobody``. Everything lives in a fresh directory under the system's
temporary directory that the login user can traverse; ``served`` (owned by the login user) is
where the tests put the files a source reads.

    with SshdServer() as sshd:
        (sshd.served / "1_1.log").write_bytes(...)
        sshd.known_hosts(tmp_path / "known_hosts")
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path

import asyncssh

from tests.servers.local_process import ProcessServer, accepts_connections

SSHD = Path("/usr/sbin/sshd")


class SshdUnavailable(RuntimeError):
    pass


def _write_key(key: asyncssh.SSHKey, path: Path) -> None:
    key.write_private_key(str(path))
    path.chmod(0o600)
    key.write_public_key(str(path.with_suffix(".pub")))
    path.with_suffix(".pub").chmod(0o644)


class SshdServer(ProcessServer):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path()
        self.user = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name

    @property
    def served(self) -> Path:
        return self.root / "served"

    @property
    def client_key(self) -> Path:
        """The authorized client key (mode 0600); ``client_key.pub`` beside it."""
        return self.root / "client.key"

    def host_key(self) -> asyncssh.SSHKey:
        return asyncssh.read_private_key(str(self.root / "host.key"))

    def known_hosts(self, path: Path, key: asyncssh.SSHKey | None = None) -> Path:
        """A known_hosts file trusting ``key`` (by default the server's own) for this server."""
        line = (key or self.host_key()).export_public_key("openssh").decode().strip()
        path.write_text(f"[127.0.0.1]:{self.port} {line}\n")
        return path

    def start(self) -> SshdServer:
        if not SSHD.exists():
            raise SshdUnavailable(f"{SSHD} is missing: run `make install-test` (apt-get install openssh-server)")
        self.root = Path(tempfile.mkdtemp(prefix="wafpipe-sshd-"))
        self.root.chmod(0o755)
        _write_key(asyncssh.generate_private_key("ssh-ed25519"), self.root / "host.key")
        _write_key(asyncssh.generate_private_key("ssh-ed25519"), self.client_key)
        self.served.mkdir()
        login = pwd.getpwnam(self.user)
        os.chown(self.served, login.pw_uid, login.pw_gid)
        config = self.root / "sshd_config"
        config.write_text("\n".join([
            f"HostKey {self.root / 'host.key'}", "ListenAddress 127.0.0.1",
            f"AuthorizedKeysFile {self.root / 'client.pub'}", f"AllowUsers {self.user}",
            "StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "Compression no", "PidFile none", "Subsystem sftp internal-sftp", "ForceCommand internal-sftp",
            "AllowTcpForwarding no", "X11Forwarding no", "",
        ]))
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        if not self._launch(lambda port: [str(SSHD), "-D", "-e", "-f", str(config), "-p", str(port)],
                            accepts_connections):
            self.stop()
            raise SshdUnavailable(f"sshd did not start (try: {SSHD} -t -f {config})")
        return self

    def stop(self) -> None:
        super().stop()
        if self.root != Path():
            shutil.rmtree(self.root, ignore_errors=True)
