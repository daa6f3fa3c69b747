"""Files waiting for a private key (DESIGN §2 "Keys": when the key appears, the file is retried
without anyone touching it).

A file quarantined because its key is missing is remembered here with the key id its header names,
where the original was and where its quarantine copy is. The collector calls :meth:`KeyWaits.ready`
on every poll; once ``<keys>/<id>/Private.key`` or ``<keys>/<id>.pem`` exists, those files are
decoded again — from the original if it is still there unchanged, else from the quarantine copy
(the source's after-policy may have deleted or moved the original).

Where it lives: the state's health row ``keys`` (its ``details`` hold the waiting files, its
``error`` says which keys are missing). That row survives restarts, so a ``--once`` run after the
key was installed retries the file, and ``/api/health`` shows the wait as an outstanding problem
until it is resolved — no second table for a handful of rows.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wafpipe.collector.logs import escape
from wafpipe.collector.state.store import State
from wafpipe.imperva.crypto import key_paths
from wafpipe.model import FileRef

log = logging.getLogger("wafpipe.collector.pipeline")

COMPONENT = "keys"


class KeyWaits:
    def __init__(self, state: State, keys_dir: Path | None) -> None:
        self.state = state
        self.keys_dir = keys_dir
        rec = state.health().get(COMPONENT)
        waiting = (rec.details or {}).get("waiting") if rec is not None else None
        self.waiting: dict[str, dict[str, Any]] = dict(waiting) if isinstance(waiting, dict) else {}

    def __len__(self) -> int:
        return len(self.waiting)

    def add(self, ref: FileRef, key_id: str, copy: Path | None) -> None:
        self.waiting[ref.key] = {
            "key_id": key_id,
            "source": ref.source,
            "name": ref.name,
            "path": ref.path,
            "size": ref.size,
            "mtime_ns": ref.mtime_ns,
            "copy": str(copy) if copy is not None else None,
        }
        self._save()

    def resolved(self, file_key: str) -> dict[str, Any] | None:
        """The file was read again (whatever the outcome): it no longer waits."""
        entry = self.waiting.pop(file_key, None)
        if entry is not None:
            self._save()
        return entry

    def has_key(self, key_id: str) -> bool:
        return any(p.is_file() for p in key_paths(self.keys_dir, key_id))

    def ready(self) -> Iterator[tuple[FileRef, dict[str, Any]]]:
        """Waiting files whose key is there now, as FileRefs to decode (same state key)."""
        present: dict[str, bool] = {}
        for file_key, entry in list(self.waiting.items()):
            key_id = str(entry.get("key_id", ""))
            if key_id not in present:
                present[key_id] = self.has_key(key_id)
            if not present[key_id]:
                continue
            path = self._readable(entry)
            if path is None:
                continue  # neither the original nor the copy is left: nothing to retry
            yield FileRef(
                source=str(entry.get("source", "")),
                name=str(entry.get("name", "")),
                path=path,
                size=int(entry.get("size") or 0),
                mtime_ns=int(entry.get("mtime_ns") or 0),
                key=file_key,
            ), entry

    def problem(self) -> str | None:
        """One line for health: which keys are missing, for how many files."""
        if not self.waiting:
            return None
        ids = sorted({str(e.get("key_id")) for e in self.waiting.values()})
        where = ", ".join(str(key_paths(self.keys_dir, i)[0]) for i in ids)
        return (
            f"{len(self.waiting)} file(s) wait for private key(s) {', '.join(ids)} "
            f"(expected at {where}); they are retried when the key appears"
        )

    @staticmethod
    def _readable(entry: dict[str, Any]) -> str | None:
        original = str(entry.get("path") or "")
        try:
            st = os.stat(original)
            if (st.st_size, st.st_mtime_ns) == (entry.get("size"), entry.get("mtime_ns")):
                return original
        except OSError:
            pass
        copy = entry.get("copy")
        return str(copy) if copy and os.path.isfile(copy) else None

    def _save(self) -> None:
        now = time.time()  # when it happened (a record, not a comparison with now)
        problem = self.problem()
        if problem is None:
            self.state.set_health(COMPONENT, last_success=now, details={"waiting": {}})
        else:
            self.state.set_health(COMPONENT, last_error=now, error=problem, details={"waiting": self.waiting})

    def restartable(self, busy: set[str]) -> Iterator[tuple[FileRef, dict[str, Any]]]:
        """The files whose key is there now and that are not being read (``busy``: keys of files in
        flight), each logged as it is handed back to be read again."""
        for ref, entry in list(self.ready()):
            if ref.key in busy:
                continue
            copy = entry.get("copy")
            from_copy = bool(copy) and ref.path == copy
            log.info(
                "private key %s is there now: reading %s again%s",
                escape(entry.get("key_id")), escape(entry.get("path")),
                f" (from its quarantine copy {escape(copy)})" if from_copy else "",
            )
            yield ref, entry
