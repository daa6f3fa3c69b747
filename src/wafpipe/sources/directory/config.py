"""What a ``[[sources]]`` table of ``type = "directory"`` accepts: a landing directory (SFTP drop)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from wafpipe.config.base import PathField, SourceConfigBase

After = Literal["keep", "delete", "move"]


class DirectorySourceConfig(SourceConfigBase):
    type: Literal["directory"] = "directory"
    path: PathField = Path("incoming")
    patterns: list[str] = Field(default_factory=lambda: ["*.log", "*.log.gz"])
    recursive: bool = False
    poll_interval_s: float = Field(2.0, gt=0)
    stable_checks: int = Field(2, ge=1)
    ignore_patterns: list[str] = Field(default_factory=lambda: ["*.filepart", "*.tmp", ".*"])
    after: After = "keep"
    done_dir: PathField | None = None

    @model_validator(mode="after")
    def _move_needs_dir(self) -> DirectorySourceConfig:
        if self.after == "move" and self.done_dir is None:
            raise ValueError('done_dir is required when after = "move"')
        return self
