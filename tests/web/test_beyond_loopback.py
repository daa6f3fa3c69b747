"""Listening beyond 127.0.0.1: refused without TLS (here or at a proxy) and without credentials chosen
for it; with both, pages and API are served over TLS, the session cookie is ``Secure``, and local
commands reach the collector by pinning its certificate."""

from __future__ import annotations

import datetime as dt
import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.collector.helpers import wafpipe
from tests.web.conftest import login_url, wait_for

TOKEN = "a-token-chosen-for-this-test-0123456789"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for waf.example.test (not for 127.0.0.1: the pinning must not need the name)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "waf.example.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("waf.example.test")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "tls.crt", directory / "tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    return cert_file, key_file


def config(root: Path, api: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "incoming").mkdir(exist_ok=True)
    (root / "wafpipe.toml").write_text(f'data_dir = "{root / "data"}"\n[[sources]]\ntype = "directory"\n'
                                       f'path = "{root / "incoming"}"\n[api]\nport = 0\n{api}\n')
    (root / "wafpipe.toml").chmod(0o600)


def test_beyond_loopback_without_tls_or_without_credentials_it_refuses_to_start(tmp_path: Path) -> None:
    config(tmp_path / "plain", 'host = "0.0.0.0"')
    res = wafpipe("serve", "-c", "wafpipe.toml", cwd=tmp_path / "plain")
    assert res.returncode == 2 and "reachable from other machines" in res.stderr and "tls_cert_file" in res.stderr
    config(tmp_path / "flag", "")
    res = wafpipe("serve", "-c", "wafpipe.toml", "--host", "0.0.0.0", cwd=tmp_path / "flag")
    assert res.returncode == 2 and "--host" in res.stderr and "reachable from other machines" in res.stderr
    config(tmp_path / "proxy", 'host = "0.0.0.0"\ntls_terminated_by_proxy = true')
    res = wafpipe("serve", "-c", "wafpipe.toml", cwd=tmp_path / "proxy", env={"WAFPIPE_API_TOKEN": ""})
    assert res.returncode == 2 and "without credentials chosen for it" in res.stderr, res.stderr
    assert "WAFPIPE_API_TOKEN" in res.stderr and "token_file" in res.stderr
    assert not (tmp_path / "proxy" / "data" / "api.token").exists()  # no token made up on the spot
    loose = tmp_path / "proxy" / "token"
    loose.write_text(TOKEN)
    loose.chmod(0o644)
    config(tmp_path / "proxy", f'host = "0.0.0.0"\ntls_terminated_by_proxy = true\ntoken_file = "{loose}"')
    res = wafpipe("serve", "-c", "wafpipe.toml", cwd=tmp_path / "proxy", env={"WAFPIPE_API_TOKEN": ""})
    assert res.returncode == 2 and f"chmod 600 {loose}" in res.stderr, res.stderr


def test_with_tls_and_a_chosen_token_it_serves_pages_and_local_commands(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    config(tmp_path, f'host = "0.0.0.0"\ntls_cert_file = "{cert}"\ntls_key_file = "{key}"')
    log = (tmp_path / "serve.log").open("w")
    env = {**os.environ, "WAFPIPE_API_TOKEN": TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "wafpipe.cli", "serve", "-c", "wafpipe.toml"], cwd=tmp_path,
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        link = wait_for(lambda: login_url(tmp_path), proc, tmp_path, "the login link")
        assert link.startswith("https://")
        port = link.split("/login")[0].rsplit(":", 1)[1]
        pinned = ssl.create_default_context(cafile=str(cert))
        pinned.check_hostname = False
        with httpx.Client(verify=pinned) as browser:
            login = browser.get(link.replace("0.0.0.0", "127.0.0.1"))
            assert login.status_code == 303 and "; Secure" in login.headers["set-cookie"]
            assert browser.get(f"https://127.0.0.1:{port}/health").status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"https://127.0.0.1:{port}/api/health")  # the system's CAs do not know it
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/api/health")  # no plain HTTP
        res = wafpipe("query", "-c", "wafpipe.toml", "--count", cwd=tmp_path, env={"WAFPIPE_API_TOKEN": TOKEN})
        assert res.returncode == 0 and res.stdout.strip() == "0", res.stderr
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()
