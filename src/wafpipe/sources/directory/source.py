"""A landing directory (typically an SFTP drop) as a source.

Why it works the way it does:

* **inotify (watchfiles) plus polling plus a catch-up scan.** inotify can miss events (queue
  overflow, network filesystems, a directory re-created under us), so a full listing every
  ``poll_interval_s`` is the safety net and the only thing that decides; inotify events only make
  the decision more careful (a file with a modify event starts its stability count again).
* **A file is taken only when complete**: temp names (``*.filepart``, ``*.tmp``, dot-files, as SFTP
  clients and rsync write them) are ignored, and a file is taken only when its size and mtime were
  the same on ``stable_checks`` consecutive polls after it was first seen. A ``.filepart`` renamed to
  ``.log`` is then a new name, seen and checked like any other. ``--once`` looks twice, one interval
  apart, unless every file had already not changed for one (on a local filesystem: :mod:`.settled`).
* **Keys from size+mtime**: a different file under an old name gets a new key; a re-delivered file
  gets one too, and the pipeline recognises it as done by its Imperva identity.
* **Problems are per file**: an unreadable file is reported once with a message that names the path,
  owner, mode, our user and the command that fixes it, counted, and retried at every poll.
* **ack after storage only**: ``keep`` does nothing, ``delete`` unlinks, ``move`` hard-links into
  ``done_dir`` without ever overwriting — and neither touches a file that changed since it was read.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import re
import shlex
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import watchfiles

from wafpipe.model import FileRef, Problem
from wafpipe.sources.base import Source, file_key
from wafpipe.sources.directory.config import DirectorySourceConfig
from wafpipe.sources.directory.settled import is_local, settled

log = logging.getLogger("wafpipe.sources.directory")

# watchfiles logs every batch of changes at INFO: one line per upload in a busy landing directory.
logging.getLogger("watchfiles").setLevel(logging.WARNING)
Sig = tuple[int, int]  # (size, mtime_ns)


@dataclass
class _Track:
    sig: Sig
    count: int = 0  # consecutive polls with the same signature since first seen
    dirty: bool = False  # an inotify event arrived since the last poll


def match_pattern(pattern: str, rel: str) -> bool:
    """A pattern without ``/`` matches the file name at any depth; one with ``/`` matches the path
    relative to the watched directory, ``**`` standing for any number of directories (also none)."""
    if "/" not in pattern:
        return fnmatchcase(rel.rsplit("/", 1)[-1], pattern)
    return _match_parts(pattern.split("/"), rel.split("/"))


def _match_parts(pp: list[str], rp: list[str]) -> bool:
    if not pp:
        return not rp
    if pp[0] == "**":
        return any(_match_parts(pp[1:], rp[i:]) for i in range(len(rp) + 1))
    return bool(rp) and fnmatchcase(rp[0], pp[0]) and _match_parts(pp[1:], rp[1:])


def _natural(path: str) -> list[object]:
    """``1234_9.log`` before ``1234_10.log``: Imperva sequence order within a directory."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def permission_message(path: str, st: os.stat_result | None, *, directory: bool = False) -> str:
    """What, whose, which mode, who we are, and the command that fixes it."""
    uid, gid, groups = os.geteuid(), os.getegid(), set(os.getgroups())
    q, need = shlex.quote(path), ("rx" if directory else "r")
    verb = "list directory" if directory else "read"
    if st is None:
        return f"cannot {verb} {path}: permission denied; wafpipe runs as {_user(uid)} (uid {uid})"
    mode = stat.S_IMODE(st.st_mode)
    if st.st_uid == uid:
        fix = f"chmod u+{need} {q}"
    elif st.st_gid == gid or st.st_gid in groups:
        fix = f"chmod g+{need} {q}"
    else:
        fix = f"chmod o+{need} {q}  (or: chgrp {shlex.quote(_group(gid))} {q} && chmod g+{need} {q})"
    return (
        f"cannot {verb} {path}: permission denied — owner {_user(st.st_uid)}:{_group(st.st_gid)} "
        f"(uid {st.st_uid}, gid {st.st_gid}), mode {mode:04o} ({stat.filemode(st.st_mode)}); wafpipe runs as "
        f"{_user(uid)} (uid {uid}, gid {gid}). Fix: {fix} — and make the uploader create readable files "
        "(e.g. sshd_config: Subsystem sftp internal-sftp -u 0022). Retrying at every poll."
    )


class DirectorySource(Source):
    """Watches ``config.path``; see the module docstring. Thread-safe: ``ack`` may be called from
    another thread than the one iterating :meth:`watch`."""

    def __init__(
        self,
        config: DirectorySourceConfig,
        *,
        name: str | None = None,
        on_problem: Callable[[Problem], None] | None = None,
    ) -> None:
        super().__init__(name or config.name or "directory", on_problem)
        self.config = config
        self.root = Path(config.path).absolute()
        self.done_dir = Path(config.done_dir).absolute() if config.done_dir else None
        self.recursive = config.recursive or any("/" in p for p in config.patterns)
        self._lock = threading.RLock()
        self._pending: dict[str, _Track] = {}
        self._emitted: dict[str, Sig] = {}  # handed out with this signature; not again unless it changes
        self._root_id: tuple[int, int] | None = None

    # ---------------------------------------------------------------------------------- listing
    def _ignored(self, name: str) -> bool:
        return any(fnmatchcase(name, p) for p in self.config.ignore_patterns)

    def _wanted(self, rel: str) -> bool:
        return not self._ignored(rel.rsplit("/", 1)[-1]) and any(
            match_pattern(p, rel) for p in self.config.patterns
        )

    def _listing(self) -> dict[str, Sig]:
        """Every wanted regular file now: absolute path → (size, mtime_ns)."""
        try:
            st = os.stat(self.root)
            self._root_id = (st.st_dev, st.st_ino)
        except FileNotFoundError:
            self._root_id = None
            self.report("missing", str(self.root), f"watched directory {self.root} does not exist (yet)")
            return {}
        except PermissionError:
            self.report("listing", str(self.root), permission_message(str(self.root), None, directory=True))
            return {}
        self.resolve(str(self.root))
        found: dict[str, Sig] = {}
        self._walk(self.root, "", found)
        return found

    def _walk(self, directory: Path, prefix: str, found: dict[str, Sig]) -> None:
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    rel = prefix + entry.name
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            if (
                                self.recursive
                                and not self._ignored(entry.name)
                                and Path(entry.path) != self.done_dir
                            ):
                                self._walk(Path(entry.path), rel + "/", found)
                        elif self._wanted(rel) and entry.is_file():
                            st = entry.stat()
                            found[entry.path] = (st.st_size, st.st_mtime_ns)
                    except FileNotFoundError:
                        continue  # vanished while listing
        except PermissionError:
            try:
                st = os.stat(directory)
            except OSError:
                st = None
            self.report("listing", str(directory), permission_message(str(directory), st, directory=True))
        except FileNotFoundError:
            return
        else:
            if directory != self.root:
                self.resolve(str(directory))

    # ------------------------------------------------------------------------------- decisions
    def _poll(self) -> list[FileRef]:
        """One poll: forget vanished files, advance stability counts, return files now complete."""
        listing = self._listing()
        ready: list[tuple[str, Sig]] = []
        with self._lock:
            for path in [p for p in self._pending if p not in listing]:
                del self._pending[path]
            for path in [p for p in self._emitted if p not in listing]:
                del self._emitted[path]
            for path in [p for p in self.problems if p not in listing and p != str(self.root)]:
                if self.problems[path].kind == "permission":
                    self.resolve(path)
            for path, sig in listing.items():
                if self._emitted.get(path) == sig:
                    continue
                track = self._pending.get(path)
                if track is None or track.sig != sig or track.dirty:
                    self._pending[path] = _Track(sig)
                    continue
                track.count += 1
                if track.count >= self.config.stable_checks:
                    ready.append((path, sig))
        return self._take(ready)

    def _take(self, ready: list[tuple[str, Sig]]) -> list[FileRef]:
        out = []
        for path, sig in sorted(ready, key=lambda r: _natural(r[0])):
            try:
                with open(path, "rb"):
                    pass
            except PermissionError:
                try:
                    st = os.stat(path)
                except OSError:
                    st = None
                self.report("permission", path, permission_message(path, st))
                continue  # stays pending: retried at the next poll
            except FileNotFoundError:
                continue
            self.resolve(path)
            with self._lock:
                self._pending.pop(path, None)
                self._emitted[path] = sig
            self.counters["files"] += 1
            out.append(self._ref(path, sig))
        return out

    def _ref(self, path: str, sig: Sig) -> FileRef:
        return FileRef(
            source=self.name,
            name=os.path.basename(path),
            path=path,
            size=sig[0],
            mtime_ns=sig[1],
            key=file_key(self.name, path, *sig),
        )

    def _note(self, changes: set[tuple[watchfiles.Change, str]]) -> None:
        with self._lock:
            for change, path in changes:
                if change == watchfiles.Change.deleted:
                    self._pending.pop(path, None)
                elif path in self._pending:
                    self._pending[path].dirty = True

    # ---------------------------------------------------------------------------------- the API
    def snapshot_complete(self) -> list[FileRef]:
        """``--once``: files present now that are unchanged one poll interval later, or that had
        already not changed for one on a local filesystem (:mod:`.settled`: no wait at all when
        every file has)."""
        first = self._listing()
        interval = self.config.poll_interval_s
        now = time.time_ns()
        new = {p: s for p, s in first.items() if self._emitted.get(p) != s}
        if all(settled(s[1], now, interval) for s in new.values()) and is_local(self.root):
            return self._take(list(new.items()))
        time.sleep(interval)
        second = self._listing()
        stable = [(p, s) for p, s in new.items() if second.get(p) == s]
        skipped = sum(1 for p, s in first.items() if second.get(p) != s)
        if skipped:
            self.counters["skipped_incomplete"] += skipped
            log.info("source %s: %d file(s) still changing, left for the next run", self.name, skipped)
        return self._take(stable)

    def scan(self) -> list[FileRef]:
        return self.snapshot_complete()

    def watch(self, stop: threading.Event) -> Iterator[FileRef]:
        interval = self.config.poll_interval_s
        yield from self._poll()  # catch-up: everything present now starts its stability count
        next_poll = time.monotonic() + interval
        while not stop.is_set():
            watched_id = self._root_id
            if watched_id is None:  # directory missing: poll until it appears
                if stop.wait(max(0.0, next_poll - time.monotonic())):
                    return
                yield from self._poll()
                next_poll = time.monotonic() + interval
                continue
            watcher = watchfiles.watch(
                self.root,
                watch_filter=None,
                stop_event=stop,
                recursive=self.recursive,
                rust_timeout=max(50, int(interval * 250)),
                debounce=max(50, int(min(1.6, interval) * 1000)),
                yield_on_timeout=True,
                ignore_permission_denied=True,
                raise_interrupt=False,
            )
            try:
                while not stop.is_set():
                    try:
                        changes = next(watcher)
                    except StopIteration:
                        break
                    except Exception as exc:  # inotify limits, odd filesystems: polling still works
                        self.counters["watch_errors"] += 1
                        log.warning(
                            "source %s: inotify failed (%s); polling every %ss", self.name, exc, interval
                        )
                        if stop.wait(max(0.0, next_poll - time.monotonic())):
                            return
                        break
                    self._note(changes)
                    if time.monotonic() >= next_poll:
                        yield from self._poll()
                        next_poll = time.monotonic() + interval
                        if self._root_id != watched_id:
                            break  # directory gone or re-created: the inotify watch is stale
            finally:
                watcher.close()
            if not stop.is_set() and time.monotonic() >= next_poll:
                yield from self._poll()
                next_poll = time.monotonic() + interval

    # ---------------------------------------------------------------------------------------- ack
    def ack(self, ref: FileRef) -> None:
        """Apply ``after``; called by the pipeline once the file is stored and marked done."""
        path, sig = ref.path, (ref.size, ref.mtime_ns)
        after = self.config.after
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self._forget(path)
            return
        if (st.st_size, st.st_mtime_ns) != sig:
            self.counters["ack_skipped_changed"] += 1
            log.warning(
                "source %s: %s changed since it was read; not applying after=%s", self.name, path, after
            )
            return
        try:
            if after == "delete":
                os.unlink(path)
            elif after == "move":
                self._move(path)
            else:
                return
        except OSError as exc:
            parent = shlex.quote(os.path.dirname(path))
            self.report(
                "ack",
                path,
                f"cannot {after} {path} after it was stored: {exc.strerror or exc}; the directory needs "
                f"write permission for wafpipe (e.g. chmod u+w {parent}); the file stays and is skipped as done",
            )
            return
        self.counters[f"acked_{after}"] += 1
        self._forget(path)

    def _move(self, path: str) -> None:
        assert self.done_dir is not None
        rel = os.path.relpath(path, self.root)
        dest = self.done_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        head, dot, rest = dest.name.partition(".")
        for i in range(1, 10_000):
            target = dest if i == 1 else dest.with_name(f"{head}~{i}{dot}{rest}")
            try:
                os.link(path, target)  # fails if target exists: never overwrites
            except FileExistsError:
                continue
            except OSError:  # another filesystem, or no hard links: exclusive copy
                try:
                    with open(path, "rb") as src, open(target, "xb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                        out.flush()
                        os.fsync(out.fileno())
                except FileExistsError:
                    continue
                shutil.copystat(path, target)
            os.unlink(path)
            return
        raise OSError(f"no free name for {dest}")

    def _forget(self, path: str) -> None:
        with self._lock:
            self._pending.pop(path, None)
            self._emitted.pop(path, None)
