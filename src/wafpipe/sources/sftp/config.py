"""What a ``[[sources]]`` table of ``type = "sftp"`` accepts: a directory on an SSH server that
Imperva's SFTP log connection uploads to, read over SFTP."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from wafpipe.config.base import PathField
from wafpipe.sources.remote.config import RemoteSourceConfigBase

DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


class SftpSourceConfig(RemoteSourceConfigBase):
    type: Literal["sftp"] = "sftp"
    host: str = Field(min_length=1)
    port: int = Field(22, ge=1, le=65535)
    username: str = Field(min_length=1)
    # One way to log in (or both: the key is tried first): a private key file (mode 0600, like
    # ssh wants it; its passphrase from the environment) or a password from the environment.
    private_key_file: PathField | None = None
    private_key_passphrase_env: str | None = None
    password_env: str | None = None
    known_hosts: PathField = DEFAULT_KNOWN_HOSTS  # the server's key must be listed here
    path: str = Field(min_length=1)  # the remote directory Imperva uploads to
    patterns: list[str] = Field(default_factory=lambda: ["*.log", "*.log.gz"])
    # A file is taken once its size and time are the same on this many listings in a row (an upload
    # in progress is not read half-way).
    stable_checks: int = Field(2, ge=1)
    poll_interval_s: float = Field(60.0, gt=0)
    timeout_s: float = Field(60.0, gt=0)
    max_backoff_s: float = Field(300.0, gt=0)
    after: Literal["keep", "delete", "move"] = "keep"
    move_to: str | None = None  # the remote directory for after = "move"

    @model_validator(mode="after")
    def _consistent(self) -> SftpSourceConfig:
        if self.private_key_file is None and self.password_env is None:
            raise ValueError("name a way to log in: private_key_file, password_env, or both")
        if self.private_key_passphrase_env and self.private_key_file is None:
            raise ValueError("private_key_passphrase_env needs private_key_file")
        if (self.after == "move") != bool(self.move_to):
            raise ValueError('move_to is the remote directory for after = "move", and only for it')
        if self.ca_file is not None:
            raise ValueError("ca_file does not apply to SFTP: the server is checked against known_hosts")
        if self.proxy_url is not None and not self.proxy_url.startswith("http://"):
            raise ValueError("proxy_url for SFTP must be an http:// proxy that allows CONNECT")
        return self
