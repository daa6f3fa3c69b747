"""A boto3 S3 client as the ``[[sources]]`` table says, and S3's errors as remote-source errors.

The client and its credential rules are shared with the archive sink's S3 target, so they live in
:mod:`wafpipe.config.aws` (sources and sinks may not import each other); re-exported here.
"""

from __future__ import annotations

from wafpipe.config.aws import AUTH_CODES, DENIED_CODES, MISSING_CODES, TRANSIENT_CODES, make_client
from wafpipe.sources.remote.base import RemoteError

__all__ = ["AUTH_CODES", "DENIED_CODES", "MISSING_CODES", "make_client", "remote_error"]


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
        if code in TRANSIENT_CODES or (status or 0) >= 500:
            return RemoteError("transient", f"{where}: {what}: {code} (HTTP {status})")
        return RemoteError("config", f"{where}: {what}: {code}: {exc.response.get('Error', {}).get('Message', '')}")
    if isinstance(exc, BotoCoreError):
        return RemoteError("transient", f"{where}: {what}: {type(exc).__name__}: {exc}")
    raise exc
