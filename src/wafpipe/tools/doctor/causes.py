"""Naming the cause of a failure: from the exception itself when there is one, from its text when
only the text is left (the collector's recorded errors, a cluster's answer).

Why both: the exception type says exactly what happened (an expired certificate is
``ssl.SSLCertVerificationError`` with ``verify_code`` 10; a refused key is botocore's
``InvalidAccessKeyId``), whereas words in a message can mislead (a port such as ``:40123`` holds
``401``). The source clients wrap their libraries' exceptions in :class:`RemoteError` with
``raise … from None``, which hides the original from tracebacks but keeps it as ``__context__``:
:func:`cause_of` walks that chain, so the library's own exception still decides.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wafpipe.errors import WafpipeError
from wafpipe.sources.remote.base import RemoteError

CREDENTIALS, TLS, HOST_KEY, PERMISSIONS = "credentials", "TLS certificate", "SSH host key", "permissions"
NOT_FOUND, UNREACHABLE, CONFIGURATION, OTHER = "not found", "unreachable", "configuration", "other"

# (words in an error, the cause, the fix) — the first that matches names the cause
CAUSES = (
    (("invalidaccesskeyid", "signaturedoesnotmatch", "authenticationfailed", "authorizationfailure", "401",
      "unauthorized", "permission denied (publickey", "auth failed", "invalid credentials", "expiredtoken",
      "invalidclienttokenid", "credentials were refused"),
     CREDENTIALS, "check the key or password the source names (its *_env variable) and that it is still valid"),
    (("certificate", "ssl", "tls"), TLS,
     "the server's certificate is not trusted, expired or for another name: fix it, or give the CA with ca_file"),
    (("host key",), HOST_KEY, "verify the server's key fingerprint and add it to known_hosts (ssh-keyscan)"),
    (("accessdenied", "403", "forbidden", "permission"), PERMISSIONS,
     "the account may log in but not read this bucket, container or directory: grant list and read"),
    (("nosuchbucket", "containernotfound", "404", "not found", "no such file", "no such bucket",
      "no such container", "no such queue", "no remote directory"), NOT_FOUND,
     "the bucket, container or path does not exist: check its name and region"),
    (("timed out", "connection refused", "connect call failed", "name or service not known", "unreachable",
      "connecterror", "endpointconnectionerror", "could not connect", "no route to host",
      "temporary failure in name resolution"), UNREACHABLE,
     "the host does not answer: check its name, port, the proxy and the firewall"),
)  # fmt: skip
# What a fix is when the source has nothing more precise to say.
FIXES = {cause: fix for _words, cause, fix in CAUSES} | {
    CONFIGURATION: "correct the [[sources]] table or the environment it names",
    OTHER: "read the error; `wafpipe run` logs it with its context",
}


def _has(low: str, word: str) -> bool:
    """``word`` in ``low``; a number only as a number of its own (``401`` is not in ``:40123``)."""
    if word.isdigit():
        return re.search(rf"(?<!\d){word}(?!\d)", low) is not None
    return word in low


def classify(error: str) -> tuple[str, str]:
    """(cause, fix) of a source's or sink's error text."""
    low = error.lower()
    for words, cause, fix in CAUSES:
        if any(_has(low, w) for w in words):
            return cause, fix
    return OTHER, FIXES[OTHER]


@dataclass(frozen=True)
class Cause:
    """``name`` is one of the causes above; ``detail`` says what exactly when the exception tells more
    than its name (which certificate check failed, which error code); ``fix`` is set when the
    exception alone decides it (an expired certificate is renewed, whatever the source)."""

    name: str
    detail: str = ""
    fix: str = ""


def chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception behind it, outermost first: ``__cause__``, ``__context__``, and the
    ones kept by hand — azure-core raises its error outside the ``except`` and keeps the original
    as ``inner_exception``; urllib3 and requests pass it as an argument."""
    out: list[BaseException] = []
    todo: list[Any] = [exc]
    seen: set[int] = set()
    while todo:
        link = todo.pop(0)
        if not isinstance(link, BaseException) or id(link) in seen:
            continue
        seen.add(id(link))
        out.append(link)
        todo += [link.__cause__, link.__context__, getattr(link, "inner_exception", None),
                 getattr(link, "reason", None), *link.args]
    return out


# -- one rule per kind of exception: the Cause, or None when it is not that rule's ---------------------
def _certificate(link: BaseException) -> Cause | None:
    if not isinstance(link, ssl.SSLCertVerificationError):
        return None
    said = str(link.verify_message or link.reason or link)
    code = link.verify_code
    if code == 10 or "expired" in said:
        return Cause(TLS, f"the server's certificate has expired ({said})",
                     "the server's certificate has expired: renew it on the server (or ask whoever runs it); if "
                     "it is valid there, this machine's clock is wrong (date -u; enable NTP)")  # fmt: skip
    if code == 9 or "not yet valid" in said:
        return Cause(TLS, f"the server's certificate is not valid yet ({said})",
                     "this machine's clock is probably behind: check it (date -u) and enable NTP")  # fmt: skip
    if code in (62, 64) or "mismatch" in said:
        return Cause(TLS, f"the server's certificate is for another name ({said})",
                     "connect with a name the certificate was issued for, or have the certificate reissued")
    if code in (18, 19, 20, 21) or "self-signed" in said or "issuer" in said:
        return Cause(TLS, f"the server's certificate is not trusted ({said})",
                     "give the CA that signed it (PEM) with ca_file, or install it in the system's trust store; "
                     "behind an inspecting proxy, that is the proxy's CA")  # fmt: skip
    return Cause(TLS, f"the server's certificate was refused ({said})")


def _handshake(link: BaseException) -> Cause | None:
    if isinstance(link, ssl.SSLError) and not isinstance(link, ssl.SSLCertVerificationError):
        return Cause(TLS, f"the TLS handshake failed ({link.reason or link})",
                     "check that the address speaks TLS (https://) on that port, and the proxy in between")
    return None


def _ssh(link: BaseException) -> Cause | None:
    import asyncssh

    if isinstance(link, asyncssh.HostKeyNotVerifiable):
        return Cause(HOST_KEY)
    if isinstance(link, asyncssh.PermissionDenied):
        return Cause(CREDENTIALS, "the SSH server refused the login")
    if isinstance(link, asyncssh.SFTPNoSuchFile | asyncssh.SFTPNoSuchPath):
        return Cause(NOT_FOUND)
    if isinstance(link, asyncssh.SFTPPermissionDenied):
        return Cause(PERMISSIONS)
    return None


# botocore error codes beyond those the S3 source's client already names (SQS's and STS's)
AWS_AUTH = frozenset({"InvalidClientTokenId", "InvalidSignatureException", "MissingAuthenticationToken",
                      "IncompleteSignature", "AccessKeyNotFound"})
AWS_MISSING = frozenset({"NoSuchBucket", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})


def _aws(link: BaseException) -> Cause | None:
    from botocore import exceptions as boto

    from wafpipe.sources.s3.client import AUTH_CODES, DENIED_CODES, MISSING_CODES

    if isinstance(link, boto.NoCredentialsError | boto.PartialCredentialsError):
        return Cause(CREDENTIALS, "no AWS credentials were found")
    if isinstance(link, boto.ClientError):
        code = str(link.response.get("Error", {}).get("Code", ""))
        if code in AUTH_CODES or code in AWS_AUTH:
            return Cause(CREDENTIALS, f"AWS refused the credentials ({code})")
        if code in AWS_MISSING or code in MISSING_CODES:
            return Cause(NOT_FOUND, f"AWS answered {code}")
        if code in DENIED_CODES:
            return Cause(PERMISSIONS, f"AWS answered {code}")
        return None
    return None  # its connection errors: _connection, which looks at what they carry


def _azure(link: BaseException) -> Cause | None:
    from azure.core import exceptions as az

    raw = getattr(link, "error_code", None) or ""
    code = str(getattr(raw, "value", raw))
    if isinstance(link, az.ClientAuthenticationError) or code in ("AuthenticationFailed", "InvalidAuthenticationInfo"):
        return Cause(CREDENTIALS, f"Azure refused the credentials ({code or 'authentication'})")
    if isinstance(link, az.ResourceNotFoundError):
        return Cause(NOT_FOUND, f"Azure answered {code or '404'}")
    if isinstance(link, az.HttpResponseError) and link.status_code == 403:
        return Cause(PERMISSIONS, f"Azure answered 403 {code}")
    return None


def _remote_kind(link: BaseException) -> Cause | None:
    """A source's own :class:`RemoteError` with nothing more telling behind it: its kind."""
    if isinstance(link, RemoteError):
        name = {"auth": CREDENTIALS, "denied": PERMISSIONS, "missing": NOT_FOUND}.get(link.kind)
        return Cause(name) if name else None
    if isinstance(link, WafpipeError):  # e.g. the variable a *_env key names is not set
        return Cause(CONFIGURATION, fix=link.hint or FIXES[CONFIGURATION])
    return None


def _connection(link: BaseException) -> Cause | None:
    """The precise connection failures, wherever they sit in the chain (botocore's
    ``EndpointConnectionError`` carries the ``ConnectionRefusedError``)."""
    import httpx

    if isinstance(link, ConnectionRefusedError):
        return Cause(UNREACHABLE, "the connection was refused: nothing listens on that port, or a firewall rejects it")
    if isinstance(link, socket.gaierror):
        return Cause(UNREACHABLE, f"the host name does not resolve ({link.strerror or link})")
    if isinstance(link, TimeoutError | httpx.TimeoutException):
        return Cause(UNREACHABLE, "no answer in time: the host or a firewall drops the connection, or the "
                     "server is stuck")  # fmt: skip
    return None


def _transport(link: BaseException) -> Cause | None:
    """Any other failure to talk to the server at all."""
    import httpx
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError
    from botocore import exceptions as boto

    if isinstance(link, boto.ConnectTimeoutError | boto.ReadTimeoutError):
        return Cause(UNREACHABLE, "no answer in time: the host or a firewall drops the connection, or the "
                     "server is stuck")  # fmt: skip
    if isinstance(link, boto.ProxyConnectionError):
        return Cause(UNREACHABLE, f"the proxy does not answer ({link})")
    if isinstance(link, OSError | httpx.TransportError | boto.EndpointConnectionError | ServiceRequestError
                  | ServiceResponseError):
        return Cause(UNREACHABLE, f"{type(link).__name__}: {link}")
    return None


# most telling first: a certificate problem wins over the connection error that carries it
RULES: tuple[Callable[[BaseException], Cause | None], ...] = (
    _certificate, _ssh, _aws, _azure, _handshake, _remote_kind, _connection, _transport)


def cause_of(exc: BaseException) -> Cause:
    """The cause of ``exc``: by the types in its chain (see the module docstring), else by its text."""
    links = chain(exc)
    for rule in RULES:
        for link in links:
            found = rule(link)
            if found is not None:
                return found
    return Cause(classify(" ".join(str(link) for link in links))[0])


def secrets_of(config: Any) -> list[str]:
    """The values of every environment variable a table's ``*_env`` keys name, and the parts of each
    (``AccountKey=…;`` of a connection string, ``sig=…&`` of a SAS token), to be taken out of
    anything shown: a library's message might echo a piece of one."""
    import os

    out: list[str] = []
    for field in type(config).model_fields:
        var = getattr(config, field, None) if field.endswith("_env") else None
        value = os.environ.get(var) if isinstance(var, str) else None
        if not value:
            continue
        out.append(value)
        for part in re.split(r"[;&]", value):
            piece = part.split("=", 1)[1] if "=" in part else part
            if len(piece) >= 8 and piece != value:
                out.append(piece)
    return sorted(out, key=len, reverse=True)  # the longest first, so no piece leaves half of a secret
