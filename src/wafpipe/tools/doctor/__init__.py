"""``wafpipe doctor``: why logs do not arrive or do not look right, each cause with its fix (issue
24 item 5). It looks, and changes nothing:

* **each directory source**: a path that does not exist or cannot be listed; files there that no
  pattern matches (and the pattern that would); files that cannot be read (owner, mode, who wafpipe
  runs as, the ``chmod`` that fixes it) — :mod:`.local`;
* **each remote source** (S3, SQS, Azure Blob, SFTP, Imperva's log API), asked now: one listing
  through the source's own client, bounded by a short timeout; what it listed, or the cause
  (credentials, TLS certificate, SSH host key, permissions, not found, unreachable) told by the
  exception, with this source's fix — :mod:`.remote`, :mod:`.causes`;
* **what was read** (the state, through the read side): files that gave no event and why (not an
  Imperva file, a missing key, compression or decryption faults, a checksum mismatch); lines that do
  not decode (the commonest reasons, each with a sample line); the remote sources' last errors as
  the collector recorded them; gaps — :mod:`.local`;
* **the clock**: the newest event against this machine's clock, and whether the system says NTP
  keeps it synchronised — :mod:`.local`;
* **each cluster sink**: unreachable, unauthorised, or without wafpipe's index template — :mod:`.cluster`.
"""

from __future__ import annotations

from typing import Any

from wafpipe.config.root import Config
from wafpipe.errors import WafpipeError
from wafpipe.sources.directory.config import DirectorySourceConfig
from wafpipe.tools.checks import Check
from wafpipe.tools.doctor.causes import CAUSES, classify
from wafpipe.tools.doctor.cluster import cluster_sinks
from wafpipe.tools.doctor.local import (
    clock_state,
    directory_source,
    files_without_events,
    parse_failures,
    remote_and_gaps,
)
from wafpipe.tools.doctor.remote import PROBE_TIMEOUT_S, remote_sources

__all__ = ["CAUSES", "PROBE_TIMEOUT_S", "classify", "diagnose"]


def diagnose(config: Config, reader: Any | None, *, timeout_s: float = PROBE_TIMEOUT_S) -> list[Check]:
    """Every check (``reader`` None: nothing was read yet, so only the sources and sinks).
    ``timeout_s``: the longest each remote source may take to answer its probe."""
    out: list[Check] = []
    for i, src in enumerate(config.sources):
        if isinstance(src, DirectorySourceConfig):
            out += directory_source(src, getattr(src, "name", None) or f"#{i + 1}")
    out += remote_sources(config, timeout_s=timeout_s)
    if reader is not None:
        for check in (files_without_events, parse_failures, clock_state, remote_and_gaps):
            try:
                out += check(reader)
            except WafpipeError as exc:
                out.append(Check(check.__name__.replace("_", " "), False, f"could not be read: {exc}"))
    out += cluster_sinks(config)
    return out
