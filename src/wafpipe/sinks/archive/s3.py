"""The archive in an S3 bucket (``s3 = { bucket, prefix, ... }``), with S3 Object Lock where the
bucket has it. The storage protocol is :mod:`.storage`'s; this is how it is kept without append or
rename.

Layout under ``s3://bucket/prefix/``::

    events/date=…/site=…/<file>-<first ordinal>-<part>.parquet   as in a directory
    originals/date=…/<file name>~<file identity>
    manifest/<20-digit seq>.jsonl   one immutable segment per Batch: its manifest lines, the first
                                    numbered <seq>, the first chained to the previous segment's last
    pending/<20-digit seq>.json     the intent of the write to be committed as <seq>: its objects'
                                    names and SHA-256 (gone once the write is finished)

One Batch's write: (1) its Parquet is written to a local scratch file and hashed; (2) the intent is
put; (3) each object is put at its final key, with its SHA-256 for S3 to check
(``ChecksumSHA256``) and, where the bucket has Object Lock, its retention; (4) the segment is put —
the commit, one atomic PUT that refuses to replace an existing segment (``If-None-Match: *``: a
second writer, or a commit whose answer was lost, cannot fork the chain); (5) the intent is removed.

A crash before (4) leaves objects no segment names, and their intent: ``archive verify`` counts
them as leftovers (when their SHA-256 is the intent's), not as inserted objects, and the sink
removes them and the intent when it next opens (in a versioned bucket that adds delete markers: a
locked version stays until its retention ends). The collector then replays the Batch, which puts
the same keys again. A crash after (4) leaves only the intent, removed on open; the replayed Batch
is found in the manifest and skipped. So a crash at any point leaves an archive that verifies and
holds every acknowledged event once. An object no segment and no pending intent names is an
inserted one.

Object Lock: when the bucket has it (``GetObjectLockConfiguration``), every object — Parquet,
original, segment, intent — is put with a retention: ``retention_mode`` (default compliance) until
the write's time plus ``retention_days`` (default: the bucket's default retention period). The
manifest line records the mode and ``retain_until`` so ``verify`` can tell a lock that is missing,
weaker or shorter. ``object_lock = "required"`` (default) refuses a bucket without Object Lock at
open; ``"if_available"`` archives there with a warning.

On open every segment is read (in parallel) to rebuild the writer's view; one writer per prefix. A
segment that is not whole lines ending in a commit was not written by wafpipe: the sink refuses to
open (``archive verify`` says what changed) rather than chain new Batches after a damaged manifest.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from wafpipe import clock
from wafpipe.config.aws import AUTH_CODES, DENIED_CODES, MISSING_CODES, error_code, make_client
from wafpipe.errors import SinkError
from wafpipe.sinks.archive.config import ArchiveS3Config
from wafpipe.sinks.archive.storage import COPY_CHUNK, Part, Stat, Storage

SEGMENTS = "manifest/"
INTENTS = "pending/"
MAX_PUT_BYTES = 5 * 1024**3  # one PUT's limit
READERS = 16  # segments read at once on open
NUMBERED = re.compile(r"^(\d{20})\.json$")
log = logging.getLogger("wafpipe.sinks.archive")
T = TypeVar("T")


class S3Storage(Storage):
    """An archive under ``s3://bucket/prefix/`` (see the module docstring)."""

    def __init__(self, config: ArchiveS3Config, client: Any = None) -> None:
        self.config = config
        self.bucket, self.prefix = config.bucket, config.prefix
        self.where = f"s3://{self.bucket}/{self.prefix}"
        self.manifest_label = f"{self.where}{SEGMENTS}"
        self._client = client
        self._lock_rule: tuple[bool, str | None, int | None] | None = None  # enabled, default mode, days
        self._retention: tuple[str, datetime] | None = None  # the current write's (mode, retain until)
        self._intent: str | None = None
        self._scratch: Path | None = None

    # --- plumbing
    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._call("connecting", lambda: make_client(self.config))
        return self._client

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """``fn()`` with S3's errors as SinkErrors that say what to do (never a credential)."""
        try:
            return fn()
        except SinkError:
            raise
        except Exception as exc:  # noqa: BLE001 - translated below, the rest re-raised
            raise self._error(exc, what) from None

    def _error(self, exc: Exception, what: str) -> SinkError:
        from botocore.exceptions import BotoCoreError, NoCredentialsError

        code, status = error_code(exc)
        where = f"archive {self.where}: {what}"
        if isinstance(exc, NoCredentialsError):
            return SinkError(f"{where}: no AWS credentials found", hint="name them with access_key_id_env and "
                             "secret_access_key_env, or provide the standard AWS environment or profile")  # fmt: skip
        if code in AUTH_CODES:
            return SinkError(f"{where}: {code}: the credentials were refused",
                             hint="check the variables named by access_key_id_env and secret_access_key_env")
        if code == "NoSuchBucket":
            return SinkError(f"{where}: there is no such bucket", hint="check bucket, region and endpoint_url")
        if code == "PreconditionFailed":
            return SinkError(f"{where}: it exists already: another writer archives to this prefix, or a commit "
                             "succeeded whose answer was lost", hint="the manifest is read again and the Batch "
                             "retried; give each collector its own prefix")  # fmt: skip
        if code in DENIED_CODES:
            return SinkError(f"{where}: access denied", hint="the archive needs s3:ListBucket, s3:GetObject, "
                             "s3:PutObject, s3:DeleteObject, s3:GetBucketObjectLockConfiguration and (with Object "
                             "Lock) s3:PutObjectRetention on the bucket and prefix")  # fmt: skip
        if code or isinstance(exc, BotoCoreError):
            message = getattr(exc, "response", {}).get("Error", {}).get("Message", "") if code else str(exc)
            return SinkError(f"{where}: {code or type(exc).__name__} (HTTP {status}): {message}",
                             hint="the Batch is retried")  # fmt: skip
        raise exc

    def _key(self, name: str) -> str:
        return self.prefix + name

    def _list(self, under: str) -> Iterator[str]:
        """Keys under ``prefix + under``, in order, without the archive's prefix."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(under))
        for page in self._call(f"listing {under}", lambda: list(pages)):
            for obj in page.get("Contents", []):
                yield str(obj["Key"])[len(self.prefix):]

    def _lock_args(self) -> dict[str, Any]:
        if self._retention is None:
            return {}
        mode, until = self._retention
        return {"ObjectLockMode": mode, "ObjectLockRetainUntilDate": until}

    def _put(self, name: str, body: Any, sha256: str, size: int, **extra: Any) -> None:
        checksum = base64.b64encode(bytes.fromhex(sha256)).decode()
        self._call(f"writing {name}", lambda: self.client.put_object(
            Bucket=self.bucket, Key=self._key(name), Body=body, ContentLength=size, ChecksumAlgorithm="SHA256",
            ChecksumSHA256=checksum, **self._lock_args(), **extra))  # fmt: skip

    def _delete(self, name: str) -> None:
        self._call(f"removing {name}", lambda: self.client.delete_object(Bucket=self.bucket, Key=self._key(name)))

    # --- Object Lock
    def lock_rule(self) -> tuple[bool, str | None, int | None]:
        """Whether the bucket has Object Lock, and its default retention (mode, days) if any."""
        if self._lock_rule is None:
            try:
                got = self.client.get_object_lock_configuration(Bucket=self.bucket)["ObjectLockConfiguration"]
            except Exception as exc:  # noqa: BLE001 - "not configured" is an answer; the rest translated
                if error_code(exc)[0] != "ObjectLockConfigurationNotFoundError":
                    raise self._error(exc, "reading the bucket's Object Lock configuration") from None
                got = {}
            default = got.get("Rule", {}).get("DefaultRetention", {})
            days = default.get("Days") or (default["Years"] * 365 if default.get("Years") else None)
            self._lock_rule = (got.get("ObjectLockEnabled") == "Enabled", default.get("Mode"), days)
        return self._lock_rule

    @property
    def locked(self) -> bool:  # type: ignore[override]
        return self.lock_rule()[0]

    def open(self) -> None:
        enabled, _, default_days = self.lock_rule()
        if not enabled and self.config.object_lock == "required":
            raise SinkError(f"archive {self.where}: the bucket has no Object Lock, and object_lock = \"required\" "
                            "(the default): the archive would be written unprotected",
                            hint="use a bucket created with Object Lock enabled (or enable it on this one), or set "
                                 "object_lock = \"if_available\" to archive without it")  # fmt: skip
        if not enabled:
            log.warning("archive %s: the bucket has no Object Lock: archiving without retention "
                        "(object_lock = \"if_available\")", self.where)  # fmt: skip
        elif (self.config.retention_days or default_days) is None:
            raise SinkError(f"archive {self.where}: the bucket has Object Lock but no default retention, and "
                            "retention_days is not set", hint="set retention_days in the archive's s3 table")  # fmt: skip
        self.stage("")  # the scratch directory, once (open runs again after a failed write)

    def close(self) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    # --- the manifest
    def has_manifest(self) -> bool:
        got = self._call("listing the manifest", lambda: self.client.list_objects_v2(
            Bucket=self.bucket, Prefix=self._key(SEGMENTS), MaxKeys=1))  # fmt: skip
        return bool(got.get("Contents"))

    def manifest_parts(self) -> Iterator[Part]:
        names = list(self._list(SEGMENTS))
        with ThreadPoolExecutor(READERS) as pool:
            yield from pool.map(self._read_part, names)

    def _read_part(self, name: str) -> Part:
        got = self._call(f"reading {name}", lambda: self.client.get_object(Bucket=self.bucket, Key=self._key(name)))
        data = self._call(f"reading {name}", got["Body"].read)
        return Part(name, data, got.get("ObjectLockMode"), got.get("ObjectLockRetainUntilDate"))

    def cut_manifest(self, part: str, keep: int) -> None:
        raise SinkError(f"archive {self.where}: manifest segment {part} is damaged (a line that is not a whole "
                        "manifest entry, or no commit at its end): wafpipe never writes one; nothing is archived "
                        "after a damaged manifest", hint=f"run wafpipe archive verify --s3-bucket {self.bucket} "
                        f"--s3-prefix '{self.prefix}' to see what was changed")  # fmt: skip

    def append_manifest(self, first_seq: int, data: bytes) -> None:
        name = f"{SEGMENTS}{first_seq:020d}.jsonl"
        self._put(name, data, hashlib.sha256(data).hexdigest(), len(data), IfNoneMatch="*")

    # --- objects
    def stage(self, name: str) -> Path:
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="wafpipe-archive-"))
        return self._scratch / Path(name).name

    def begin(self, seq: int, objects: list[tuple[str, str]]) -> dict[str, Any]:
        enabled, _, default_days = self.lock_rule()
        extra: dict[str, Any] = {}
        self._retention = None
        if enabled:
            days = self.config.retention_days or default_days or 0
            # whole seconds, rounded up: what S3 keeps is never earlier than what the line records
            until = datetime.fromtimestamp(math.ceil(clock.now()), UTC) + timedelta(days=days)
            self._retention = (self.config.retention_mode.upper(), until)
            extra = {"lock": self._retention[0], "retain_until": until.strftime("%Y-%m-%dT%H:%M:%SZ")}
        self._intent = f"{INTENTS}{seq:020d}.json"
        body = json.dumps({"seq": seq, "objects": [{"object": n, "sha256": s} for n, s in objects]},
                          sort_keys=True).encode()  # fmt: skip
        self._put(self._intent, body, hashlib.sha256(body).hexdigest(), len(body))
        return extra

    def put(self, name: str, source: Path, sha256: str, size: int) -> None:
        if size > MAX_PUT_BYTES:
            raise SinkError(f"archive {self.where}: {name} is {size} bytes, over the 5 GiB of one S3 PUT")
        with open(source, "rb") as body:
            self._put(name, body, sha256, size)
        if self._scratch is not None and source.parent == self._scratch:
            source.unlink(missing_ok=True)

    def publish(self, names: list[str]) -> None:
        if self._intent is not None:
            try:
                self._delete(self._intent)
            except SinkError as exc:  # committed already: the next open removes it
                log.warning("%s", exc)
            self._intent = None

    def recover(self, committed: set[str], head_seq: int) -> None:
        """Every intent left is removed, with each of its objects no segment names: whether its
        commit never happened (a crash) or lost to another writer's (its seq taken), those objects
        were never acknowledged."""
        for name, _ in self._intents():
            for obj in self._intent_objects(name):
                if obj not in committed:
                    self._delete(obj)
            self._delete(name)

    def _intents(self) -> list[tuple[str, int]]:
        found = []
        for name in self._list(INTENTS):
            m = NUMBERED.match(name[len(INTENTS):])
            if m:
                found.append((name, int(m[1])))
        return found

    def _intent_objects(self, name: str) -> dict[str, str]:
        got = self._call(f"reading {name}", lambda: self.client.get_object(Bucket=self.bucket, Key=self._key(name)))
        try:
            intent = json.loads(self._call(f"reading {name}", got["Body"].read))
            return {str(o["object"]): str(o["sha256"]) for o in intent["objects"]}
        except (ValueError, KeyError, TypeError):
            return {}

    def leftovers(self, head_seq: int) -> dict[str, str]:
        found: dict[str, str] = {}
        for name, _ in self._intents():
            found.update(self._intent_objects(name))
        return found

    def stat(self, name: str) -> Stat | None:
        try:
            got = self.client.get_object(Bucket=self.bucket, Key=self._key(name))
        except Exception as exc:  # noqa: BLE001 - a missing object is an answer; the rest translated
            if error_code(exc)[0] in MISSING_CODES:
                return None
            raise self._error(exc, f"reading {name}") from None
        digest, size = hashlib.sha256(), 0
        body = got["Body"]
        while chunk := self._call(f"reading {name}", lambda: body.read(COPY_CHUNK)):
            digest.update(chunk)
            size += len(chunk)
        return Stat(size, digest.hexdigest(), got.get("ObjectLockMode"), got.get("ObjectLockRetainUntilDate"))

    def names(self, top: str) -> Iterator[str]:
        yield from self._list(f"{top}/")
