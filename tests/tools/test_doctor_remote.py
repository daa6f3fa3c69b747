"""``wafpipe doctor`` asks each remote source once and names the cause of a failure with its fix,
against real servers on 127.0.0.1: moto (S3, with IAM authentication switched on, so unknown keys
and missing permissions are refused as AWS refuses them), Debian's OpenSSH server (SFTP), an HTTPS
server presenting an expired self-signed certificate (Imperva's log API), and closed or silent
ports. Every case runs the real command in a subprocess; nothing waits for a duration (a server
that never answers is bounded by doctor's own ``--timeout``, whatever the machine's load)."""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.cli.helpers import wafpipe
from tests.servers.azurite_server import ACCOUNT_KEY, AzuriteServer
from tests.servers.moto_server import REGION, MotoServer
from tests.servers.sshd_server import SshdServer

BUCKET, PREFIX, QUEUE = "imperva-logs", "waf/", "imperva-events"
KEY_VAR, SECRET_VAR = "WP_DOCTOR_AWS_KEY_ID", "WP_DOCTOR_AWS_SECRET"
API_ID_VAR, API_KEY_VAR = "WP_DOCTOR_API_ID", "WP_DOCTOR_API_KEY"
AZURE_VAR = "WP_DOCTOR_AZURE_CONNECTION"
WRONG_SECRET = "wrong/secret/key/that/must/never/be/printed"
API_KEY = "imperva-api-key-never-printed"
GENEROUS = "120"  # --timeout for probes of live servers: a loaded machine must not turn them into timeouts


# -- the servers ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Aws:
    server: MotoServer
    key_id: str  # an IAM user allowed s3:* and sqs:* (moto checks it once authentication is on)
    secret: str
    denied_key_id: str  # an IAM user without any policy
    denied_secret: str


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    """A moto server of this module's own (the other modules' accept any key): a bucket with one
    Imperva-named object, two IAM users, then authentication switched on (moto's reset-auth with
    0: from now on every request is checked against IAM)."""
    with MotoServer() as server:
        iam = server.client("iam")
        keys = []
        for user, policy in (("reader", ["s3:*", "sqs:*"]), ("stranger", None)):
            iam.create_user(UserName=user)
            if policy:
                document = {"Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": policy, "Resource": "*"}]}
                iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=json.dumps(document))
            key = iam.create_access_key(UserName=user)["AccessKey"]
            keys += [key["AccessKeyId"], key["SecretAccessKey"]]
        s3 = server.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}1234_1.log", Body=b"x")
        queue = server.client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
        server.client("sqs").send_message(QueueUrl=queue, MessageBody="{}")
        httpx.post(f"{server.url}/moto-api/reset-auth", content=b"0", timeout=30).raise_for_status()
        yield Aws(server, *keys)


@pytest.fixture(scope="module")
def azurite_logs(azurite: AzuriteServer) -> AzuriteServer:
    """Azurite with container ``logs`` holding one Imperva-named blob."""
    azurite.service().create_container("logs").upload_blob(f"{PREFIX}1234_1.log", b"x")
    return azurite


def _expired_self_signed(directory: Path) -> tuple[Path, Path]:
    """A CA-capable self-signed certificate for 127.0.0.1 that expired yesterday, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    usage = x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False)  # fmt: skip
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=30)).not_valid_after(now - dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(key, hashes.SHA256()))  # fmt: skip
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


class _Index(http.server.BaseHTTPRequestHandler):
    """Answers every GET with an index of one file: had the certificate been accepted, doctor would
    say so (a passing row), and the test would fail."""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        body = b"1234_1.log\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the signature of the base
        return


@pytest.fixture(scope="module")
def expired_https(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An HTTPS server on 127.0.0.1 (a free port, a thread) with the expired certificate: (its log
    server URI, the certificate, to be given as ca_file so that only the expiry is wrong)."""
    cert, key = _expired_self_signed(tmp_path_factory.mktemp("tls"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/1234_5678/", cert
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound here and never listened on: a connection to it is refused, and no other process
    can take the port while the test runs."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never says a word."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield int(s.getsockname()[1])


# -- doctor ---------------------------------------------------------------------------------------------
def write_config(root: Path, table: str) -> None:
    """A configuration with one remote source named ``logs`` (no store yet: doctor looks at the
    sources and sinks only)."""
    (root / "wafpipe.toml").write_text(f'data_dir = "{root / "data"}"\n\n[[sources]]\nname = "logs"\n{table}\n')
    (root / "wafpipe.toml").chmod(0o600)


def doctor(root: Path, env: dict[str, str], *args: str) -> tuple[int, dict[str, Any], str]:
    """Exit code, the row of source ``logs``, and everything printed (to look for secrets in)."""
    res = wafpipe("doctor", "-c", "wafpipe.toml", "--format", "ndjson", *args, cwd=root, env=env)
    assert "Traceback" not in res.stderr, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    mine = [r for r in rows if r["name"] == "source logs"]
    assert len(mine) == 1, res.stdout + res.stderr
    return res.returncode, mine[0], res.stdout + res.stderr


def s3_table(endpoint: str, bucket: str = BUCKET) -> str:
    return "\n".join(['type = "s3"', f'bucket = "{bucket}"', f'prefix = "{PREFIX}"', f'region = "{REGION}"',
                      f'endpoint_url = "{endpoint}"', "path_style = true", f'access_key_id_env = "{KEY_VAR}"',
                      f'secret_access_key_env = "{SECRET_VAR}"'])  # fmt: skip


def sftp_table(port: int, key: Path, known_hosts: Path, path: str, user: str = "x", **extra: str) -> str:
    return "\n".join(['type = "sftp"', 'host = "127.0.0.1"', f"port = {port}", f'username = "{user}"',
                      f'private_key_file = "{key}"', f'known_hosts = "{known_hosts}"', f'path = "{path}"',
                      *(f"{k} = {v}" for k, v in extra.items())])  # fmt: skip


def azure_table(connection_string_env: str, container: str = "logs") -> str:
    return "\n".join(['type = "azure_blob"', f'container = "{container}"', f'prefix = "{PREFIX}"',
                      f'connection_string_env = "{connection_string_env}"'])  # fmt: skip


def imperva_table(url: str, **extra: str) -> str:
    return "\n".join(['type = "imperva_api"', f'url = "{url}"', f'api_id_env = "{API_ID_VAR}"',
                      f'api_key_env = "{API_KEY_VAR}"', *(f"{k} = {v}" for k, v in extra.items())])  # fmt: skip


def client_key(directory: Path) -> Path:
    """A private key file (mode 0600, as the sftp source wants it) no server knows."""
    path = directory / "id_ed25519"
    asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(path))
    path.chmod(0o600)
    return path


IMPERVA_ENV = {API_ID_VAR: "98765", API_KEY_VAR: API_KEY}


# -- S3 ---------------------------------------------------------------------------------------------------
def test_s3_with_a_key_aws_does_not_know_is_a_credentials_problem(tmp_path: Path, aws: Aws) -> None:
    write_config(tmp_path, s3_table(aws.server.url))
    code, row, printed = doctor(tmp_path, {KEY_VAR: "AKIAUNKNOWNUNKNOWN00", SECRET_VAR: WRONG_SECRET},
                                "--timeout", GENEROUS)  # fmt: skip
    assert code == 1 and row["ok"] is False
    assert row["evidence"].startswith("credentials: AWS refused the credentials (InvalidAccessKeyId)"), row
    assert f"set the variables {KEY_VAR} and {SECRET_VAR}" in row["fix"] and "active for this account" in row["fix"]
    assert WRONG_SECRET not in printed


def test_s3_with_the_wrong_secret_is_a_credentials_problem(tmp_path: Path, aws: Aws) -> None:
    write_config(tmp_path, s3_table(aws.server.url))
    code, row, printed = doctor(tmp_path, {KEY_VAR: aws.key_id, SECRET_VAR: WRONG_SECRET}, "--timeout", GENEROUS)
    assert code == 1 and row["evidence"].startswith("credentials: AWS refused the credentials (SignatureDoesNotMatch)")
    assert KEY_VAR in row["fix"] and WRONG_SECRET not in printed


def test_s3_bucket_that_does_not_exist_is_not_found(tmp_path: Path, aws: Aws) -> None:
    write_config(tmp_path, s3_table(aws.server.url, bucket="no-such-bucket"))
    code, row, printed = doctor(tmp_path, {KEY_VAR: aws.key_id, SECRET_VAR: aws.secret}, "--timeout", GENEROUS)
    assert code == 1 and row["ok"] is False
    assert row["evidence"].startswith("not found: AWS answered NoSuchBucket"), row
    assert "s3://no-such-bucket/waf/: there is no such bucket" in row["evidence"]
    assert "there is no bucket 'no-such-bucket'" in row["fix"] and "check bucket, region and endpoint_url" in row["fix"]
    assert aws.secret not in printed


def test_s3_key_without_a_policy_is_a_permissions_problem(tmp_path: Path, aws: Aws) -> None:
    write_config(tmp_path, s3_table(aws.server.url))
    code, row, printed = doctor(tmp_path, {KEY_VAR: aws.denied_key_id, SECRET_VAR: aws.denied_secret},
                                "--timeout", GENEROUS)  # fmt: skip
    assert code == 1 and row["evidence"].startswith("permissions: AWS answered AccessDenied"), row
    assert f"s3:ListBucket on arn:aws:s3:::{BUCKET}" in row["fix"]
    assert aws.denied_secret not in printed


def test_a_healthy_s3_source_passes_with_what_it_listed(tmp_path: Path, aws: Aws) -> None:
    write_config(tmp_path, s3_table(aws.server.url))
    code, row, printed = doctor(tmp_path, {KEY_VAR: aws.key_id, SECRET_VAR: aws.secret}, "--timeout", GENEROUS)
    assert row == {"name": "source logs", "ok": True, "fix": "",
                   "evidence": f"listed s3://{BUCKET}/{PREFIX}: 1 object(s), 1 named like ['*.log', '*.log.gz']"}
    assert code == 0, printed
    assert aws.secret not in printed


def sqs_table(endpoint: str, queue: str) -> str:
    return "\n".join(['type = "sqs"', f'queue_url = "{endpoint}/123456789012/{queue}"', f'region = "{REGION}"',
                      f'endpoint_url = "{endpoint}"', f'access_key_id_env = "{KEY_VAR}"',
                      f'secret_access_key_env = "{SECRET_VAR}"'])  # fmt: skip


def test_a_healthy_sqs_queue_passes_and_a_missing_one_is_not_found(tmp_path: Path, aws: Aws) -> None:
    """The probe reads the queue's attributes: it receives nothing, so the message stays for the collector."""
    env = {KEY_VAR: aws.key_id, SECRET_VAR: aws.secret}
    write_config(tmp_path, sqs_table(aws.server.url, QUEUE))
    code, row, printed = doctor(tmp_path, env, "--timeout", GENEROUS)
    assert row == {"name": "source logs", "ok": True, "fix": "", "evidence":
                   f"queue {aws.server.url}/123456789012/{QUEUE} answers: about 1 message(s) waiting"}, row
    assert code == 0, printed
    write_config(tmp_path, sqs_table(aws.server.url, "no-such-queue"))
    code, row, printed = doctor(tmp_path, env, "--timeout", GENEROUS)
    assert code == 1 and row["evidence"].startswith("not found: AWS answered "), row
    assert "there is no queue" in row["fix"] and aws.secret not in printed


# -- SFTP -------------------------------------------------------------------------------------------------
def test_sftp_host_key_not_in_known_hosts_names_host_port_and_the_keyscan(tmp_path: Path, sshd: SshdServer) -> None:
    known = tmp_path / "known_hosts"
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode().strip()
    known.write_text(f"elsewhere.example {other}\n")  # a known_hosts file, without this server
    write_config(tmp_path, sftp_table(sshd.port, sshd.client_key, known, str(sshd.served), user=sshd.user))
    code, row, _ = doctor(tmp_path, {}, "--timeout", GENEROUS)
    assert code == 1 and row["ok"] is False
    fingerprint = sshd.host_key().get_fingerprint("sha256")
    assert row["evidence"].startswith(f"SSH host key: sftp://[127.0.0.1]:{sshd.port}: the server's host key "
                                      f"ssh-ed25519 {fingerprint} is not in {known}"), row  # fmt: skip
    assert f"127.0.0.1 port {sshd.port} is not in {known}" in row["fix"]
    assert "compare the fingerprint" in row["fix"]
    assert row["fix"].endswith(f"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {known}")


def test_sftp_host_key_that_changed_says_so_and_how_to_remove_the_old_one(tmp_path: Path, sshd: SshdServer) -> None:
    known = sshd.known_hosts(tmp_path / "known_hosts", key=asyncssh.generate_private_key("ssh-ed25519"))
    write_config(tmp_path, sftp_table(sshd.port, sshd.client_key, known, str(sshd.served), user=sshd.user))
    code, row, _ = doctor(tmp_path, {}, "--timeout", GENEROUS)
    assert code == 1 and row["evidence"].startswith("SSH host key: ") and "CHANGED" in row["evidence"], row
    assert f"ssh-keygen -R '[127.0.0.1]:{sshd.port}' -f {known}" in row["fix"]
    assert f"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {known}" in row["fix"]


def test_a_healthy_sftp_source_passes_and_a_missing_directory_is_not_found(tmp_path: Path, sshd: SshdServer) -> None:
    known = sshd.known_hosts(tmp_path / "known_hosts")
    (sshd.served / "1234_1.log").write_bytes(b"x")
    write_config(tmp_path, sftp_table(sshd.port, sshd.client_key, known, str(sshd.served), user=sshd.user))
    code, row, printed = doctor(tmp_path, {}, "--timeout", GENEROUS)
    assert row == {"name": "source logs", "ok": True, "fix": "",
                   "evidence": f"listed sftp://[127.0.0.1]:{sshd.port}{sshd.served} as {sshd.user}: 1 file(s), 1 "
                               "named like ['*.log', '*.log.gz']"}  # fmt: skip
    assert code == 0, printed
    write_config(tmp_path, sftp_table(sshd.port, sshd.client_key, known, f"{sshd.served}/nope", user=sshd.user))
    code, row, _ = doctor(tmp_path, {}, "--timeout", GENEROUS)
    assert code == 1 and row["evidence"].startswith("not found: "), row
    assert f"there is no directory '{sshd.served}/nope' on the server" in row["fix"]


def test_sftp_key_the_server_does_not_know_is_a_credentials_problem(tmp_path: Path, sshd: SshdServer) -> None:
    known = sshd.known_hosts(tmp_path / "known_hosts")
    key = client_key(tmp_path)
    write_config(tmp_path, sftp_table(sshd.port, key, known, str(sshd.served), user=sshd.user))
    code, row, _ = doctor(tmp_path, {}, "--timeout", GENEROUS)
    assert code == 1 and row["evidence"].startswith("credentials: the SSH server refused the login"), row
    assert f"add the public key of {key} to ~{sshd.user}/.ssh/authorized_keys" in row["fix"]


# -- Azure Blob ----------------------------------------------------------------------------------------------
def test_a_healthy_azure_container_passes_and_a_missing_one_is_not_found(tmp_path: Path,
                                                                         azurite_logs: AzuriteServer) -> None:
    azurite = azurite_logs
    env = {AZURE_VAR: azurite.connection_string}
    write_config(tmp_path, azure_table(AZURE_VAR))
    code, row, printed = doctor(tmp_path, env, "--timeout", GENEROUS)
    assert row == {"name": "source logs", "ok": True, "fix": "",
                   "evidence": f"listed azure://logs/{PREFIX}: 1 blob(s), 1 named like ['*.log', '*.log.gz']"}
    assert code == 0, printed
    write_config(tmp_path, azure_table(AZURE_VAR, container="nope"))
    code, row, printed = doctor(tmp_path, env, "--timeout", GENEROUS)
    assert code == 1 and row["evidence"].startswith("not found: Azure answered ContainerNotFound"), row
    assert "there is no container 'nope' in this account" in row["fix"]
    assert azurite.connection_string not in printed and ACCOUNT_KEY not in printed


# -- TLS ---------------------------------------------------------------------------------------------------
def test_an_expired_certificate_is_named_as_expired(tmp_path: Path, expired_https: tuple[str, Path]) -> None:
    url, cert = expired_https
    write_config(tmp_path, imperva_table(url, ca_file=f'"{cert}"'))
    code, row, printed = doctor(tmp_path, IMPERVA_ENV, "--timeout", GENEROUS)
    assert code == 1 and row["ok"] is False
    assert row["evidence"].startswith("TLS certificate: the server's certificate has expired (certificate has "
                                      "expired)"), row  # fmt: skip
    assert f"logs.index ({url})" in row["evidence"]
    assert "certificate has expired: renew it on the server" in row["fix"] and "clock" in row["fix"]
    assert API_KEY not in printed


def test_a_certificate_nobody_vouches_for_is_not_trusted(tmp_path: Path, expired_https: tuple[str, Path]) -> None:
    url, _cert = expired_https
    write_config(tmp_path, imperva_table(url))  # no ca_file: the self-signed certificate has no trusted issuer
    code, row, _ = doctor(tmp_path, IMPERVA_ENV, "--timeout", GENEROUS)
    assert code == 1 and row["evidence"].startswith("TLS certificate: the server's certificate is not trusted "
                                                    "(self-signed certificate)"), row  # fmt: skip
    assert row["fix"].startswith("give the CA that signed it (PEM) with ca_file"), row


# -- unreachable ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["s3", "sftp", "imperva_api", "azure_blob"])
def test_a_closed_port_is_unreachable(tmp_path: Path, closed_port: int, kind: str) -> None:
    azure = (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={ACCOUNT_KEY};"
             f"BlobEndpoint=http://127.0.0.1:{closed_port}/devstoreaccount1;")
    table = {"s3": lambda: s3_table(f"http://127.0.0.1:{closed_port}"),
             "sftp": lambda: sftp_table(closed_port, client_key(tmp_path), tmp_path / "known_hosts", "/in"),
             "imperva_api": lambda: imperva_table(f"http://127.0.0.1:{closed_port}/1234_5678/"),
             "azure_blob": lambda: azure_table(AZURE_VAR)}[kind]()
    write_config(tmp_path, table + "\ntimeout_s = 3600.0")  # doctor bounds it: a dead host cannot hang it
    env = {KEY_VAR: "AKIAUNKNOWNUNKNOWN00", SECRET_VAR: WRONG_SECRET, AZURE_VAR: azure, **IMPERVA_ENV}
    code, row, printed = doctor(tmp_path, env)
    assert code == 1 and row["ok"] is False
    assert row["evidence"].startswith("unreachable: the connection was refused"), row
    if kind != "azure_blob":  # Azure's address is inside the connection string, which is never shown
        assert row["fix"].startswith(f"nothing answers at 127.0.0.1:{closed_port}"), row
    assert WRONG_SECRET not in printed and API_KEY not in printed and ACCOUNT_KEY not in printed


def test_a_server_that_never_answers_is_unreachable_within_doctors_timeout(tmp_path: Path, silent_port: int) -> None:
    """The table allows an hour; doctor's ``--timeout`` bounds the probe (the port accepts and stays
    silent, so the outcome does not depend on how fast anything is)."""
    write_config(tmp_path, imperva_table(f"http://127.0.0.1:{silent_port}/1234_5678/", timeout_s="3600.0"))
    code, row, _ = doctor(tmp_path, IMPERVA_ENV, "--timeout", "1")
    assert code == 1 and row["evidence"].startswith("unreachable: no answer in time"), row
    assert row["fix"].startswith(f"nothing answers at 127.0.0.1:{silent_port}"), row
