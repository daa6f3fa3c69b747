"""Each remote source asked once, now: one listing through the source's own client, and its
outcome as a :class:`Check` — what was listed, or the cause with this source's fix.

Why it works the way it does:

* **The source's own client.** The probe builds its client exactly as the collector does
  (``make_client``, ``make_container``, ``SftpClient``, ``LogApi``), so it sees the same
  credentials, proxy, CA and known_hosts, and reports with the source's own error messages. Only
  listings and attribute reads are made: nothing is downloaded, deleted, moved or received (an SQS
  receive would hide messages from the collector).
* **Short and bounded.** Each probe gets ``timeout_s`` (10 s unless ``--timeout`` says otherwise, or
  the table's own ``timeout_s`` when that is shorter), Azure's SDK makes no retry, and the probes
  run side by side in daemon threads with a hang guard: a host that swallows packets costs one
  timeout, not one per source, and can never keep doctor waiting.
* **The cause from the exception** (:func:`~wafpipe.tools.doctor.causes.cause_of`), the fix from
  the source: "credentials" means other variables for S3 than for SFTP.
* **No secret is shown**: every text passes :func:`~wafpipe.errors.redact` with the values of the
  variables the table names.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from wafpipe.config.root import Config
from wafpipe.errors import WafpipeError, redact
from wafpipe.tools.checks import Check
from wafpipe.tools.doctor.causes import (
    CREDENTIALS,
    FIXES,
    HOST_KEY,
    NOT_FOUND,
    PERMISSIONS,
    TLS,
    UNREACHABLE,
    cause_of,
    secrets_of,
)

PROBE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Probe:
    """One remote source as doctor asks it: ``listing`` makes the one call and returns the evidence;
    ``said`` turns a failure into the source's own message; ``fixes`` are this source's fix per
    cause (see :mod:`~wafpipe.tools.doctor.causes` for the names)."""

    area: str
    where: str
    listing: Callable[[], str]
    said: Callable[[Exception], str]
    fixes: dict[str, str]
    secrets: list[str] = field(default_factory=list)

    def shown(self, text: str) -> str:
        return redact(text, self.secrets)

    def check(self) -> Check:
        try:
            evidence = self.listing()
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            return self.failed(exc)
        return Check(self.area, True, self.shown(evidence))

    def failed(self, exc: Exception) -> Check:
        cause = cause_of(exc)
        message = _said(self.said, exc)
        fix = cause.fix or self.fixes.get(cause.name) or FIXES[cause.name]
        if cause.name == HOST_KEY and "CHANGED" in message:  # the SFTP client's word for a key unlike the listed one
            fix = self.fixes.get("host key changed", fix)
        evidence = f"{cause.name}: " + (f"{cause.detail} — " if cause.detail else "") + message
        return Check(self.area, False, self.shown(evidence)[:800], self.shown(fix))

    def silent(self, waited_s: float) -> Check:
        """The probe did not return within the hang guard."""
        return Check(self.area, False, f"{UNREACHABLE}: {self.shown(self.where)} gave no answer within "
                     f"{waited_s:.0f} s", self.shown(self.fixes.get(UNREACHABLE, FIXES[UNREACHABLE])))  # fmt: skip


def _said(translate: Callable[[Exception], str], exc: Exception) -> str:
    """The source's message for ``exc``; the exception's own text when the source does not know it."""
    if isinstance(exc, WafpipeError):
        return str(exc.args[0]) if exc.args else str(exc)
    try:
        return translate(exc)
    except Exception:  # noqa: BLE001 - the translators re-raise what is not theirs
        return f"{type(exc).__name__}: {exc}"


def _host_port(url: str | None, default: str) -> str:
    """``host:port`` of ``url`` (never its user or password), or ``default``."""
    if not url:
        return default
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def _matching(names: list[str], patterns: list[str]) -> int:
    return sum(1 for n in names if any(fnmatchcase(n.rsplit("/", 1)[-1], p) for p in patterns))


def _unreachable(address: str, keys: str) -> str:
    return f"nothing answers at {address}: check {keys}, proxy_url and the firewall between this machine and it"


def _tls(address: str) -> str:
    return (f"the certificate {address} presents was refused: have it fixed on the server, or give the CA that "
            "signed it with ca_file (PEM)")


# -- one builder per source type: no I/O here, everything happens in ``listing`` ------------------------
def _aws_credentials(src: Any) -> str:
    if not (src.access_key_id_env or src.secret_access_key_env):
        return ("no access_key_id_env is named, so boto3's standard chain was used (AWS_ACCESS_KEY_ID, "
                "AWS_PROFILE, the instance role): fix that, or name the variables with access_key_id_env and "
                "secret_access_key_env")
    return (f"set the variables {src.access_key_id_env} and {src.secret_access_key_env} (named by access_key_id_env "
            "and secret_access_key_env) to an access key that is active for this account"
            + (f", and {src.session_token_env} to its current session token" if src.session_token_env else "")
            + (f"; it must be allowed to assume {src.role_arn}" if src.role_arn else ""))  # fmt: skip


def _s3(src: Any, area: str) -> Probe:
    from wafpipe.sources.s3.client import make_client, remote_error

    where = f"s3://{src.bucket}/{src.prefix}"
    address = _host_port(src.endpoint_url, f"the S3 endpoint of region {src.region or '(default)'}")

    step = ["listing"]  # what failed: with role_arn, building the client already asks STS

    def listing() -> str:
        step[0] = f"assuming role {src.role_arn}" if src.role_arn else "listing"
        client = make_client(src)
        step[0] = "listing"
        got = client.list_objects_v2(Bucket=src.bucket, Prefix=src.prefix, MaxKeys=1000)
        names = [str(o["Key"]) for o in got.get("Contents", [])]
        more = "+" if got.get("IsTruncated") else ""
        return (f"listed {where}: {len(names)}{more} object(s), {_matching(names, src.patterns)}{more} named like "
                f"{src.patterns}")  # fmt: skip

    return Probe(area, where, listing, lambda exc: str(remote_error(exc, step[0], where)), {
        CREDENTIALS: _aws_credentials(src),
        NOT_FOUND: f"there is no bucket {src.bucket!r} at {address}: check bucket, region and endpoint_url "
                   "(Imperva's \"<bucket>/<folder>\" is bucket and prefix)",
        PERMISSIONS: f"the credentials may not list the bucket: grant s3:ListBucket on arn:aws:s3:::{src.bucket} "
                     f"and s3:GetObject on arn:aws:s3:::{src.bucket}/{src.prefix}*"
                     + (" (and s3:DeleteObject for after = \"delete\")" if src.after == "delete" else "")
                     + (" (and s3:PutObjectTagging for after = \"tag\")" if src.after == "tag" else "")
                     + (f"; with role_arn, those go to the role, and sts:AssumeRole on {src.role_arn} to the "
                        "credentials" if src.role_arn else ""),
        UNREACHABLE: _unreachable(address, "endpoint_url, region"),
        TLS: _tls(address),
    }, secrets_of(src))  # fmt: skip


def _sqs(src: Any, area: str) -> Probe:
    from wafpipe.sources.s3.client import make_client, remote_error

    where = str(src.queue_url)
    address = _host_port(src.endpoint_url, f"the SQS endpoint of region {src.region or '(default)'}")

    def listing() -> str:
        got = make_client(src, "sqs").get_queue_attributes(QueueUrl=src.queue_url,
                                                           AttributeNames=["ApproximateNumberOfMessages"])
        waiting = got.get("Attributes", {}).get("ApproximateNumberOfMessages", "?")
        return f"queue {where} answers: about {waiting} message(s) waiting"

    return Probe(area, where, listing, lambda exc: str(remote_error(exc, "reading the queue's attributes", where)), {
        CREDENTIALS: _aws_credentials(src),
        NOT_FOUND: f"there is no queue {where}: check queue_url, region and endpoint_url",
        PERMISSIONS: "grant sqs:GetQueueAttributes, sqs:ReceiveMessage, sqs:DeleteMessage and "
                     "sqs:ChangeMessageVisibility on the queue, and s3:GetObject on the buckets its messages name",
        UNREACHABLE: _unreachable(address, "queue_url, endpoint_url, region"),
        TLS: _tls(address),
    }, secrets_of(src))  # fmt: skip


def _azure_blob(src: Any, area: str) -> Probe:
    from wafpipe.sources.azure_blob.client import make_container, remote_error

    where = f"azure://{src.container}/{src.prefix}"
    address = _host_port(src.account_url, "the account of the connection string")
    key = next(k for k in ("connection_string_env", "account_key_env", "sas_token_env") if getattr(src, k))

    def listing() -> str:
        pages = make_container(src, retry_total=0).list_blobs(name_starts_with=src.prefix or None,
                                                               results_per_page=1000).by_page()
        names = [str(b.name) for b in next(pages, [])]
        more = "+" if pages.continuation_token else ""
        return (f"listed {where}: {len(names)}{more} blob(s), {_matching(names, src.patterns)}{more} named like "
                f"{src.patterns}")  # fmt: skip

    return Probe(area, where, listing, lambda exc: str(remote_error(exc, "listing", where)), {
        CREDENTIALS: f"check the value of {getattr(src, key)} (named by {key}): a current connection string, "
                     "account key or SAS token for this account (a SAS token ends at its se= time)",
        NOT_FOUND: f"there is no container {src.container!r} in this account: check container, and account_url "
                   "or the connection string",
        PERMISSIONS: f"the account does not let this credential list the container: check that {getattr(src, key)} "
                     "holds the account's current key or a SAS token allowing read and list"
                     + (" and delete" if src.after == "delete" else "")
                     + " (sp=rl), and that the storage account's firewall admits this machine",
        UNREACHABLE: _unreachable(address, "account_url (or the connection string's BlobEndpoint)"),
        TLS: _tls(address),
    }, secrets_of(src))  # fmt: skip


def _sftp(src: Any, area: str) -> Probe:
    from wafpipe.sources.sftp.client import SftpClient, known_hosts_name, load_key, remote_error

    name = known_hosts_name(src.host, src.port)
    where = f"sftp://{name}{src.path}"
    keyscan = f"ssh-keyscan -p {src.port} {src.host} >> {src.known_hosts}"
    verify = ("compare the fingerprint shown with the server's own (on the server: ssh-keygen -lf "
              "/etc/ssh/ssh_host_*_key.pub)")

    def listing() -> str:
        key = None
        if src.private_key_file is not None:
            key = load_key(src.private_key_file, src.secret("private_key_passphrase", required=False))
        client = SftpClient(src, key=key, password=src.secret("password", required=False))
        try:
            files = client.list(src.path)
        finally:
            client.close()
        names = [f.name for f in files]
        return (f"listed {where} as {src.username}: {len(names)} file(s), {_matching(names, src.patterns)} named "
                f"like {src.patterns}")  # fmt: skip

    login = (f"add the public key of {src.private_key_file} to ~{src.username}/.ssh/authorized_keys on the server"
             if src.private_key_file else "")
    if src.password_env:
        login += (" or " if login else "") + f"check the password in {src.password_env} (named by password_env)"
    return Probe(area, where, listing, lambda exc: str(remote_error(exc, src.path, f"sftp://{name}", src.username)), {
        HOST_KEY: f"{src.host} port {src.port} is not in {src.known_hosts}: {verify}; if they match, add it with: "
                  f"{keyscan}",
        "host key changed": f"{src.host} port {src.port} offers another key than {src.known_hosts} lists: ask whoever "
                            f"runs the server whether it changed; only if it did, ssh-keygen -R '{name}' -f "
                            f"{src.known_hosts}, {verify}, then {keyscan}",
        CREDENTIALS: f"the server refused user {src.username!r}: {login}",
        NOT_FOUND: f"there is no directory {src.path!r} on the server: check path (as user {src.username!r} sees it; "
                   "a chrooted account starts at /)",
        PERMISSIONS: f"user {src.username!r} may not list {src.path}: on the server, let it read the directory "
                     "(chmod o+rx, or a group of the user)",
        UNREACHABLE: _unreachable(f"{src.host}:{src.port}", "host, port"),
    }, secrets_of(src))  # fmt: skip


def _imperva_api(src: Any, area: str) -> Probe:
    from wafpipe.sources.imperva_api.client import INDEX, LogApi, base_url

    where = redact(base_url(src.url))
    address = _host_port(src.url, where)
    settings = (f"{src._where}.api_id_env", f"{src._where}.api_key_env") if src._where else ("api_id_env", "api_key_env")

    def listing() -> str:
        api_id, api_key = src.secret("api_id"), src.secret("api_key")
        api = LogApi(src.url, api_id or "", api_key or "", timeout_s=src.timeout_s, verify_certs=src.verify_certs,
                     ca_file=src.ca_file, proxy_url=src.proxy_url, settings=settings)
        try:
            names, other = api.index()
        finally:
            api.close()
        return f"read {where}{INDEX}: {len(names)} log file(s) listed" + (f", {len(other)} other line(s)" if other else "")

    return Probe(area, where, listing, str, {
        CREDENTIALS: f"set {src.api_id_env} and {src.api_key_env} (named by api_id_env and api_key_env) to the log "
                     "integration's API ID and API key (Imperva console: Logs → Log Setup)",
        NOT_FOUND: f"there is no {INDEX} at {where}: paste the \"Log Server URI\" of Logs → Log Setup as url; a new "
                   "log integration publishes its first index a few hours after activation",
        PERMISSIONS: f"set {src.api_id_env} and {src.api_key_env} to the API ID and key of this log integration",
        UNREACHABLE: _unreachable(address, "url"),
        TLS: _tls(address),
    }, secrets_of(src))  # fmt: skip


BUILDERS: dict[str, Callable[[Any, str], Probe]] = {
    "s3": _s3, "sqs": _sqs, "azure_blob": _azure_blob, "sftp": _sftp, "imperva_api": _imperva_api}


def remote_sources(config: Config, *, timeout_s: float = PROBE_TIMEOUT_S) -> list[Check]:
    """One probe per remote source (see the module docstring), in the order of the ``[[sources]]``."""
    probes = []
    for i, src in enumerate(config.sources):
        if src.type in BUILDERS:
            bounded = src.model_copy(update={"timeout_s": min(src.timeout_s, timeout_s)})
            probes.append(BUILDERS[src.type](bounded, f"source {getattr(src, 'name', None) or f'#{i + 1}'}"))
    found: list[Check | None] = [None] * len(probes)

    def run(j: int) -> None:
        found[j] = probes[j].check()

    threads = [threading.Thread(target=run, args=(j,), name=f"doctor {p.area}", daemon=True)
               for j, p in enumerate(probes)]  # fmt: skip
    for t in threads:
        t.start()
    # the hang guard: two tries of connect and read (boto3), and the SFTP login's steps, each bounded
    guard_s = 5 * timeout_s + 10
    deadline = time.monotonic() + guard_s
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return [c if c is not None else p.silent(guard_s) for c, p in zip(found, probes, strict=True)]
