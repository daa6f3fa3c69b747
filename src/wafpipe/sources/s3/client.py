"""A boto3 S3 client as the ``[[sources]]`` table says, and S3's errors as remote-source errors.

Credentials come from the ``*_env`` variables the table names, or boto3's standard chain when it
names none; a ``role_arn`` is assumed on top. They are handed to boto3 only: never logged, never in
an error message (boto3's own messages do not carry them).
"""

from __future__ import annotations

from typing import Any

from wafpipe.sources.remote.base import RemoteError
from wafpipe.sources.s3.config import AwsAccess

AUTH_CODES = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
                        "UnrecognizedClientException", "AuthFailure"})
MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
DENIED_CODES = frozenset({"AccessDenied", "403", "AllAccessDisabled"})


def make_client(config: AwsAccess, service: str = "s3") -> Any:
    """A boto3 client of ``service`` (``s3``, ``sqs``) with the table's region, endpoint, proxy, CA
    and credentials."""
    import boto3
    from botocore.config import Config as BotoConfig

    creds: dict[str, Any] = {}
    if config.access_key_id_env or config.secret_access_key_env:
        creds = {"aws_access_key_id": config.secret("access_key_id"),
                 "aws_secret_access_key": config.secret("secret_access_key"),
                 "aws_session_token": config.secret("session_token", required=False)}
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
                                        aws_session_token=got["SessionToken"])
    return session.client(service, endpoint_url=config.endpoint_url, config=boto_config, verify=verify)


def remote_error(exc: Exception, what: str, where: str) -> RemoteError:
    """An exception of a boto3 call as a :class:`RemoteError` whose message says what to do;
    ``where`` names the bucket (``s3://bucket/prefix``) or queue."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return RemoteError("auth", f"{where}: no AWS credentials found; name them with access_key_id_env and "
                           "secret_access_key_env, or provide the standard AWS environment or profile")
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in AUTH_CODES:
            return RemoteError("auth", f"{where}: {what}: {code}: the credentials were refused; check the "
                               "variables named by access_key_id_env and secret_access_key_env")
        if code == "NoSuchBucket":
            return RemoteError("config", f"{where}: there is no such bucket (check bucket, region and endpoint_url)")
        if code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            return RemoteError("config", f"{where}: there is no such queue (check queue_url and region)")
        if code in MISSING_CODES:
            return RemoteError("missing", f"{where}: {what}: the object is gone")
        if code in DENIED_CODES:
            return RemoteError("denied", f"{where}: {what}: access denied; the credentials need s3:ListBucket on "
                               "the bucket and s3:GetObject on its objects (sqs:ReceiveMessage and "
                               "sqs:DeleteMessage on a queue)")
        if code in ("SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable") or (status or 0) >= 500:
            return RemoteError("transient", f"{where}: {what}: {code} (HTTP {status})")
        return RemoteError("config", f"{where}: {what}: {code}: {exc.response.get('Error', {}).get('Message', '')}")
    if isinstance(exc, BotoCoreError):
        return RemoteError("transient", f"{where}: {what}: {type(exc).__name__}: {exc}")
    raise exc
