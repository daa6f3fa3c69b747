"""An Azure ``ContainerClient`` as the ``[[sources]]`` table says, and Azure's errors as remote-source
errors. The secret (connection string, account key or SAS token) is read from the environment
variable the table names and handed to the SDK only."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from wafpipe.sources.azure_blob.config import AzureBlobSourceConfig
from wafpipe.sources.remote.base import RemoteError


def account_name(url: str) -> str:
    """``https://acct.blob.core.windows.net`` → ``acct``; an emulator's ``http://host:port/acct`` → ``acct``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host.replace(".", "").isdigit() or host == "localhost" or ":" in host:
        return parts.path.strip("/").split("/", 1)[0]
    return host.split(".", 1)[0]


def make_container(config: AzureBlobSourceConfig, *, retry_total: int | None = None) -> Any:
    """The container client. ``retry_total``: how often the SDK retries a request (None: its own
    policy, which waits 15 s and more between tries — right for the collector, too long for a
    one-off check such as ``wafpipe doctor``, which passes 0)."""
    from azure.storage.blob import BlobServiceClient

    options: dict[str, Any] = {"connection_timeout": config.timeout_s, "read_timeout": config.timeout_s}
    if retry_total is not None:
        options["retry_total"] = retry_total
    if config.proxy_url:
        options["proxies"] = {"http": config.proxy_url, "https": config.proxy_url}
    if config.ca_file:
        options["connection_verify"] = str(config.ca_file)
    if config.connection_string_env:
        service = BlobServiceClient.from_connection_string(config.secret("connection_string") or "", **options)
    elif config.account_key_env:
        assert config.account_url is not None
        key = {"account_name": account_name(config.account_url), "account_key": config.secret("account_key")}
        service = BlobServiceClient(config.account_url, credential=key, **options)
    else:
        assert config.account_url is not None
        service = BlobServiceClient(config.account_url, credential=config.secret("sas_token"), **options)
    return service.get_container_client(config.container)


def remote_error(exc: Exception, what: str, where: str) -> RemoteError:
    """An exception of an Azure SDK call as a :class:`RemoteError` whose message says what to do."""
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
        ServiceResponseError,
    )

    raw = getattr(exc, "error_code", None) or ""
    code = str(getattr(raw, "value", raw))  # the SDK gives a StorageErrorCode (a str enum) or a string
    if isinstance(exc, ClientAuthenticationError) or code in ("AuthenticationFailed", "InvalidAuthenticationInfo"):
        return RemoteError("auth", f"{where}: {what}: the credentials were refused ({code or 'authentication'}); "
                           "check the variable named by connection_string_env, account_key_env or sas_token_env")
    if isinstance(exc, ResourceNotFoundError):
        if code == "ContainerNotFound":
            return RemoteError("config", f"{where}: there is no such container (check container and account_url)")
        return RemoteError("missing", f"{where}: {what}: the blob is gone")
    if isinstance(exc, HttpResponseError) and exc.status_code == 403:
        return RemoteError("denied", f"{where}: {what}: access denied ({code}); check the secret named by "
                           "connection_string_env, account_key_env or sas_token_env, and that it allows read and "
                           "list on the container (and delete for after = \"delete\")")
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return RemoteError("transient", f"{where}: {what}: {type(exc).__name__}: {exc}")
    if isinstance(exc, HttpResponseError):
        kind = "transient" if (exc.status_code or 0) >= 500 or exc.status_code == 429 else "config"
        return RemoteError(kind, f"{where}: {what}: HTTP {exc.status_code} {code}")
    if isinstance(exc, AzureError):
        return RemoteError("transient", f"{where}: {what}: {type(exc).__name__}: {exc}")
    raise exc
