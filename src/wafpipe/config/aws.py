"""How to reach AWS (or an S3-compatible store), shared by the ``s3``/``sqs`` sources and the archive
sink's S3 target: the table's keys (:class:`AwsConnection`) and the boto3 client they describe
(:func:`make_client`).

It lives here, below sources and sinks, because sources and sinks may not import each other
(pyproject's import contracts) and both need the same credentials rules: credentials come from the
``*_env`` variables the table names, or boto3's standard chain when it names none; a ``role_arn`` is
assumed on top. They are handed to boto3 only: never logged, never in an error message (boto3's own
messages do not carry them).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from wafpipe.config.base import HttpUrl, PathField, _Model

# S3's error codes by what they mean to a person (sources and the archive sink word their own hints)
AUTH_CODES = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
                        "UnrecognizedClientException", "AuthFailure"})
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
DENIED_CODES = frozenset({"AccessDenied", "403", "AllAccessDisabled"})
TRANSIENT_CODES = frozenset({"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable"})


class AwsConnection(_Model):
    """The keys of a table that reaches AWS: region, endpoint, credentials (by variable name), proxy."""

    region: str | None = None
    endpoint_url: HttpUrl | None = None  # an S3-compatible store (MinIO, Ceph, …) or a local stand-in
    path_style: bool = False  # http://host/bucket/key instead of http://bucket.host/key
    # Credentials: none of these → boto3's standard chain (environment, profile, instance role).
    access_key_id_env: str | None = None
    secret_access_key_env: str | None = None
    session_token_env: str | None = None
    role_arn: str | None = None  # assumed (STS) with the credentials above or the standard chain
    timeout_s: float = Field(60.0, gt=0)
    proxy_url: HttpUrl | None = None
    ca_file: PathField | None = None


def make_client(config: AwsConnection, service: str = "s3") -> Any:
    """A boto3 client of ``service`` (``s3``, ``sqs``) with the table's region, endpoint, proxy, CA
    and credentials."""
    import boto3
    from botocore.config import Config as BotoConfig

    creds: dict[str, Any] = {}
    if config.access_key_id_env or config.secret_access_key_env:
        creds = {"aws_access_key_id": config.secret("access_key_id"),
                 "aws_secret_access_key": config.secret("secret_access_key"),
                 "aws_session_token": config.secret("session_token", required=False)}  # fmt: skip
    session = boto3.session.Session(region_name=config.region, **creds)
    boto_config = BotoConfig(
        s3={"addressing_style": "path" if config.path_style else "auto"},
        connect_timeout=config.timeout_s, read_timeout=config.timeout_s,
        retries={"max_attempts": 2, "mode": "standard"},
        proxies={"http": config.proxy_url, "https": config.proxy_url} if config.proxy_url else None,
    )
    verify: Any = str(config.ca_file) if config.ca_file else None
    if config.role_arn:
        sts = session.client("sts", endpoint_url=config.endpoint_url, config=boto_config, verify=verify)
        got = sts.assume_role(RoleArn=config.role_arn, RoleSessionName="wafpipe")["Credentials"]
        session = boto3.session.Session(region_name=config.region, aws_access_key_id=got["AccessKeyId"],
                                        aws_secret_access_key=got["SecretAccessKey"],
                                        aws_session_token=got["SessionToken"])  # fmt: skip
    return session.client(service, endpoint_url=config.endpoint_url, config=boto_config, verify=verify)


def error_code(exc: Exception) -> tuple[str, int | None]:
    """S3's error code and HTTP status of a boto3 ``ClientError`` (``("", None)`` for anything else)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return "", None
    return str(response.get("Error", {}).get("Code", "")), response.get("ResponseMetadata", {}).get("HTTPStatusCode")
