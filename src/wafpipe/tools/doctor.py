"""``wafpipe doctor``: why logs do not arrive or do not look right, each cause with its fix (issue
24 item 5). It looks, and changes nothing:

* **each directory source**: a path that does not exist or cannot be listed; files there that no
  pattern matches (and the pattern that would); files that cannot be read (owner, mode, who wafpipe
  runs as, the ``chmod`` that fixes it);
* **what was read** (the state, through the read side): files that gave no event and why (not an
  Imperva file, a missing key, compression or decryption faults, a checksum mismatch); lines that do
  not decode (the commonest reasons, each with a sample line); gaps;
* **the clock**: the newest event against this machine's clock, and whether the system says NTP
  keeps it synchronised;
* **remote sources**: their last error, classified (credentials, TLS certificate, SSH host key,
  permissions, not found, unreachable) with the fix;
* **each cluster sink**: unreachable, unauthorised, or without wafpipe's index template.
"""

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
from wafpipe.config.root import Config
from wafpipe.errors import WafpipeError, redact
from wafpipe.model import SOURCE_HEALTH_PREFIX
from wafpipe.sources.directory.config import DirectorySourceConfig
from wafpipe.sources.directory.source import permission_message
from wafpipe.tools.checks import Check

SKEW_S = 300
MAX_LISTED = 5
# (words in an error, the cause, the fix) — the first that matches names the cause
CAUSES = (
    (("invalidaccesskeyid", "signaturedoesnotmatch", "authenticationfailed", "authorizationfailure", "401",
      "unauthorized", "permission denied (publickey", "auth failed", "invalid credentials", "expiredtoken"),
     "credentials", "check the key or password the source names (its *_env variable) and that it is still valid"),
    (("certificate", "ssl", "tls"), "TLS certificate",
     "the server's certificate is not trusted, expired or for another name: fix it, or give the CA with ca_file"),
    (("host key",), "SSH host key", "verify the server's key fingerprint and add it to known_hosts (ssh-keyscan)"),
    (("accessdenied", "403", "forbidden", "permission"), "permissions",
     "the account may log in but not read this bucket, container or directory: grant list and read"),
    (("nosuchbucket", "containernotfound", "404", "not found", "no such file"), "not found",
     "the bucket, container or path does not exist: check its name and region"),
    (("timed out", "connection refused", "name or service not known", "unreachable", "connecterror"), "unreachable",
     "the host does not answer: check its name, port, the proxy and the firewall"),
)  # fmt: skip


def classify(error: str) -> tuple[str, str]:
    """(cause, fix) of a source's or sink's error text."""
    low = error.lower()
    for words, cause, fix in CAUSES:
        if any(w in low for w in words):
            return cause, fix
    return "other", "read the error; `wafpipe run` logs it with its context"


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
    last = (reader.health().get("store") or {}).get("last")
    out = []
    if last:
        ahead = datetime.fromisoformat(str(last).replace("Z", "+00:00")).timestamp() - clock.now()
        if ahead > SKEW_S:
            out.append(Check("clock", False, f"the newest event ({last}) is {ahead / 60:.0f} min ahead of this clock",
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
    health = reader.health()
    out = []
    for component, rec in (health.get("components") or {}).items():
        failing = rec.get("error") and (rec.get("last_success") or 0) < (rec.get("last_error") or 0)
        if component.startswith(SOURCE_HEALTH_PREFIX) and failing:
            cause, fix = classify(str(rec["error"]))
            out.append(Check(f"source {component[len(SOURCE_HEALTH_PREFIX):]}", False,
                                 f"{cause}: {redact(str(rec['error']))[:300]}", fix))  # fmt: skip
    for gap in health.get("gaps") or []:
        out.append(Check("gaps", False, f"{gap.get('kind')}: {gap.get('detail')}",
                             "check the log configuration in Imperva's console; a late file closes the gap"))  # fmt: skip
    return out


def cluster_sinks(config: Config) -> list[Check]:
    from wafpipe.sinks.elasticsearch.assets.templates import TEMPLATE
    from wafpipe.sinks.elasticsearch.client import make_client

    out = []
    for entry in config.sinks:
        if entry.type not in ("elasticsearch", "opensearch"):
            continue
        area = f"sink {entry.type}"
        try:
            client = make_client(entry)
        except WafpipeError as exc:
            out.append(Check(area, False, str(exc), exc.hint))
            continue
        try:
            status, _ = client.request("GET", "/")
            if status in (401, 403):
                out.append(Check(area, False, f"the cluster answered {status}: unauthorised",
                                     "check the user/password or API key the sink names (its *_env variables)"))  # fmt: skip
                continue
            found, _ = client.request("GET", f"/_index_template/{TEMPLATE}")
            if found == 404:
                out.append(Check(area, False, f"no index template {TEMPLATE}: documents would get guessed mappings",
                                     "wafpipe elastic setup -c <config>"))  # fmt: skip
            else:
                out.append(Check(area, True, f"reachable (HTTP {status}), index template {TEMPLATE} installed"))
        except Exception as exc:  # noqa: BLE001 - any failure to reach it is the finding
            text = client.redact(str(exc))
            out.append(Check(area, False, f"unreachable: {text[:300]}", classify(text)[1]))
        finally:
            client.close()
    return out


def diagnose(config: Config, reader: Any | None) -> list[Check]:
    """Every check (``reader`` None: nothing was read yet, so only the sources and sinks)."""
    out: list[Check] = []
    for i, src in enumerate(config.sources):
        if isinstance(src, DirectorySourceConfig):
            out += directory_source(src, getattr(src, "name", None) or f"#{i + 1}")
    if reader is not None:
        for check in (files_without_events, parse_failures, clock_state, remote_and_gaps):
            try:
                out += check(reader)
            except WafpipeError as exc:
                out.append(Check(check.__name__.replace("_", " "), False, f"could not be read: {exc}"))
    out += cluster_sinks(config)
    return out
