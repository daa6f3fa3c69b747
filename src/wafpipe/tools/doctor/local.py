"""What doctor can see without asking any server: each directory source (path, patterns,
permissions), what the collector's state says was read (files without events, lines that do not
decode, the remote sources' last errors, gaps) and this machine's clock."""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from wafpipe import clock
from wafpipe.errors import redact
from wafpipe.model import SOURCE_HEALTH_PREFIX
from wafpipe.sources.directory.config import DirectorySourceConfig
from wafpipe.sources.directory.source import permission_message
from wafpipe.tools.checks import Check
from wafpipe.tools.doctor.causes import classify

SKEW_S = 300
MAX_LISTED = 5


def _suggest(names: list[str]) -> list[str]:
    """Patterns that would match these file names: ``*`` and each name's suffix from its first dot."""
    return sorted({"*" + name[name.index("."):] if "." in name else name for name in names})


def directory_source(src: DirectorySourceConfig, name: str) -> list[Check]:
    area = f"source {name}"
    path = Path(src.path)
    if not path.exists():
        parent = path.parent if path.parent.exists() else None
        near = sorted(p.name for p in parent.iterdir() if p.is_dir())[:MAX_LISTED] if parent else []
        return [Check(area, False, f"{path} does not exist" + (f"; beside it: {', '.join(near)}" if near else ""),
                          "correct path in the [[sources]] table, or create the directory the uploads go to")]  # fmt: skip
    try:
        entries = [p for p in (path.rglob("*") if src.recursive else path.iterdir()) if p.is_file()]
    except PermissionError:
        return [Check(area, False, permission_message(str(path), _stat(path), directory=True))]
    names = [p.relative_to(path).as_posix() if src.recursive else p.name for p in entries]
    wanted = [p for p, n in zip(entries, names, strict=True)
              if any(fnmatch.fnmatch(Path(n).name, pat) for pat in src.patterns)
              and not any(fnmatch.fnmatch(Path(n).name, pat) for pat in src.ignore_patterns)]  # fmt: skip
    out = []
    if not entries:
        out.append(Check(area, False, f"{path} holds no file yet",
                             "check the log setup in Imperva's console (SFTP push target, credentials)"))  # fmt: skip
    elif not wanted:
        others = [n for n in names if not any(fnmatch.fnmatch(Path(n).name, p) for p in src.ignore_patterns)]
        out.append(Check(area, False,
                             f"{len(entries)} file(s) in {path}, none matching patterns {src.patterns}: e.g. "
                             + ", ".join(others[:MAX_LISTED]),
                             f"patterns = {_suggest(others[:50])!r} would match them"))  # fmt: skip
    unreadable = [p for p in wanted if not os.access(p, os.R_OK)]
    out += [Check(area, False, permission_message(str(p), _stat(p))) for p in unreadable[:MAX_LISTED]]
    if not out:
        out.append(Check(area, True, f"{len(wanted)} file(s) in {path} match its patterns and can be read"))
    return out


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def files_without_events(reader: Any) -> list[Check]:
    out = []
    for status in ("quarantined", "failed"):
        for f in reader.files(status=status, limit=50)["files"]:
            reason = str(f.get("error") or "unknown")
            out.append(Check("files", False, f"{f.get('name')}: {status} — {reason}", _file_fix(reason)))
    for f in reader.files(checksum="mismatch", limit=50)["files"]:
        out.append(Check("files", False, f"{f.get('name')}: its body does not match the MD5 in its header",
                             "fetch it again from Imperva; the events read are stored and flagged"))  # fmt: skip
    return out


def _file_fix(reason: str) -> str:
    low = reason.lower()
    if "key" in low:
        return "install the private key the message names under [keys] dir (keys/<publicKeyId>/Private.key)"
    if "not an imperva" in low or "not_imperva" in low:
        return "narrow the source's patterns to Imperva's files (<configId>_<sequence>.log)"
    if any(w in low for w in ("compress", "truncat", "cut", "decrypt", "corrupt")):
        return "the file is damaged or cut short: fetch it again from Imperva"
    return "see docs/formats.md, 'When a file gives trouble'"


def parse_failures(reader: Any) -> list[Check]:
    letters = reader.dead_letters(kind="decode", limit=1000)["dead_letters"]
    if not letters:
        return [Check("decoding", True, "every line decoded")]
    reasons = Counter(str(d.get("reason")) for d in letters)
    out = []
    for reason, n in reasons.most_common(3):
        sample = next(d for d in letters if str(d.get("reason")) == reason)
        record = sample.get("record") or {}
        where = f"{sample.get('file')}:{record.get('line')}"
        raw = str(record.get("raw") or "")[:160]
        out.append(Check("decoding", False, f"{n} line(s): {reason} — e.g. {where}: {raw!r}",
                             "if the line is Imperva's, a newer wafpipe may read it: then `wafpipe deadletters replay`"))  # fmt: skip
    return out


def clock_state(reader: Any) -> list[Check]:
    """The newest event and the newest file header's ``endTime`` against this machine's clock:
    Imperva writes both from its own clock, so either far ahead means this one is behind (or,
    for the events alone, that a time zone was applied twice)."""
    health = reader.health()
    out = []
    for what, when in (("event", (health.get("store") or {}).get("last")),
                       ("file header's endTime", health.get("newest_header_end"))):  # fmt: skip
        if not when:
            continue
        ahead = datetime.fromisoformat(str(when).replace("Z", "+00:00")).timestamp() - clock.now()
        if ahead > SKEW_S:
            out.append(Check("clock", False, f"the newest {what} ({when}) is {ahead / 60:.0f} min ahead of this clock",
                             "synchronise this machine's clock (NTP); check the time zone of the files"))  # fmt: skip
    ntp = _ntp_synchronised()
    if ntp is False:
        out.append(Check("clock", False, "the system says NTP does not keep this clock synchronised",
                             "enable time synchronisation (timedatectl set-ntp true, or chrony)"))  # fmt: skip
    if not out:
        out.append(Check("clock", True, "no skew seen" + (", NTP synchronised" if ntp else "")))
    return out


def _ntp_synchronised() -> bool | None:
    tool = shutil.which("timedatectl")
    if tool is None:
        return None
    try:
        answer = subprocess.run([tool, "show", "-p", "NTPSynchronized", "--value"], capture_output=True, text=True,
                                timeout=5, check=False).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return {"yes": True, "no": False}.get(answer)


def remote_and_gaps(reader: Any) -> list[Check]:
    """The last error each remote source recorded in the state (when no success came after it), and
    the gaps. The error is the collector's, from its last run: the live probe of each source
    (:mod:`.remote`) says whether it still holds; only the text is left here, so the text names it."""
    health = reader.health()
    out = []
    for component, rec in (health.get("components") or {}).items():
        failing = rec.get("error") and (rec.get("last_success") or 0) < (rec.get("last_error") or 0)
        if component.startswith(SOURCE_HEALTH_PREFIX) and failing:
            cause, fix = classify(str(rec["error"]))
            out.append(Check(f"source {component[len(SOURCE_HEALTH_PREFIX):]}", False,
                                 f"{cause} (the collector's last error): {redact(str(rec['error']))[:300]}", fix))  # fmt: skip
    for gap in health.get("gaps") or []:
        out.append(Check("gaps", False, f"{gap.get('kind')}: {gap.get('detail')}",
                             "check the log configuration in Imperva's console; a late file closes the gap"))  # fmt: skip
    return out
