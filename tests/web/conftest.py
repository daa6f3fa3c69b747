"""One ``wafpipe serve`` per test module (a subprocess, ``--port 0``) over a store that holds generated
traffic, events whose every text field is an attack payload, a corrupted file, a time gap and dead
letters; and Debian's Chromium for the browser tests.

Waits are for conditions (the files done), with a guard deadline that only stops a hang.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser import WAIT_MS
from wafpipe.tools.generate import generate_files

START = datetime(2026, 11, 30, 6, tzinfo=UTC)
GUARD_S = 180.0
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"  # screenshots, git-ignored
PAYLOADS = ('<script>alert("xss-script")</script>', '"><img src=x onerror=alert("xss-img")>',
            "javascript:alert('xss-url')", "' OR 1=1 --")
# CEF keys whose values become payloads: site, user agent, client, city, URL, query, referrer,
# rule names, customer and site tag.
PAYLOAD_KEYS = ("sourceServiceName", "requestClientApplication", "cs6", "cicode", "request", "qstr", "ref", "cs9",
                "Customer", "siteTag")


@dataclass
class Served:
    url: str
    token: str
    login_url: str
    root: Path
    expected_events: int

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def payload_file(directory: Path) -> Path:
    """A headerless CEF file whose security events hold a payload in every text field named above."""
    (source,) = generate_files(directory / "gen", events=8, fmt="cef", compression="none", attack_ratio=1.0,
                               start=START, end=START + timedelta(minutes=5), seed=301)
    body = source.read_bytes().split(b"|==|\n", 1)[1].decode()
    lines = []
    for n, line in enumerate(body.splitlines()):
        payload = PAYLOADS[n % len(PAYLOADS)].replace("\\", "\\\\").replace("=", "\\=")
        for key in PAYLOAD_KEYS:
            line = re.sub(rf"(?<= ){key}=.*?(?= [A-Za-z0-9]+=|$)", lambda _m, k=key, p=payload: f"{k}={p}", line)
        lines.append(line)
    path = directory / "incoming" / "777_1.log"
    path.write_text("\n".join(lines) + "\n")
    return path


def build_incoming(root: Path) -> int:
    """The files the served store ingests; returns how many good events they hold."""
    incoming = root / "incoming"
    incoming.mkdir(parents=True)
    good = generate_files(root / "gen" / "a", events=600, files=3, fmt="cef", start=START,
                          end=START + timedelta(hours=2), seed=302)
    bad = generate_files(root / "gen" / "bad", events=40, fmt="leef", start=START, end=START + timedelta(hours=1),
                         seed=303, bad_input=True)
    # the same configuration, an hour later: the hour between is a gap
    early = generate_files(root / "gen" / "early", events=30, fmt="w3c", start=START,
                           end=START + timedelta(minutes=10), seed=304)
    late = generate_files(root / "gen" / "late", events=30, fmt="w3c", start=START + timedelta(hours=3),
                          end=START + timedelta(hours=3, minutes=10), seed=304)
    for path in [*good, *bad, *early]:
        shutil.copy(path, incoming / path.name)
    for path in late:
        shutil.copy(path, incoming / f"9{path.name}")
    payload_file(root)
    return 600 + 40 + 30 + 30 + 8


@contextlib.contextmanager
def serving(root: Path, expected_events: int) -> Iterator[Served]:
    """``wafpipe serve`` over ``root/incoming`` (data in ``root/data``), once every file is read."""
    (root / "wafpipe.toml").write_text(
        f'data_dir = "{root / "data"}"\n[[sources]]\ntype = "directory"\npath = "{root / "incoming"}"\n'
        '[api]\nport = 0\n')
    (root / "wafpipe.toml").chmod(0o600)
    log = (root / "serve.log").open("w")
    # The clock an hour before the first event: the health page must warn of the skew.
    env = {**os.environ, "WAFPIPE_NOW": (START - timedelta(hours=1)).isoformat()}
    proc = subprocess.Popen([sys.executable, "-m", "wafpipe.cli", "serve", "-c", "wafpipe.toml"], cwd=root,
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True, env=env)
    try:
        link = wait_for(lambda: login_url(root), proc, root, "the login link")
        base = link.split("/login", 1)[0]
        token = (root / "data" / "api.token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        files = len(list((root / "incoming").iterdir()))
        wait_for(lambda: _settled(base, headers, files), proc, root, "every file read")
        yield Served(base, token, link, root, expected_events)
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("ui")
    expected = build_incoming(root)
    with serving(root, expected) as running:
        yield running


@pytest.fixture(scope="module")
def page(served: Served, browser: Any) -> Iterator[Any]:
    """One logged-in page for the module: signed in through the one-time link; dialogs are
    recorded (``page.dialogs``) and dismissed."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    tab.dialogs = []
    tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
    tab.goto(served.login_url)
    assert tab.url == f"{served.url}/"
    yield tab
    context.close()


def login_url(root: Path) -> str | None:
    """The one-time login link ``wafpipe serve`` printed into ``root/serve.log``, once it has."""
    found = re.search(r"open (https?://\S+/login\?code=\S+)", (root / "serve.log").read_text())
    return found.group(1) if found else None


def _settled(base: str, headers: dict[str, str], expected: int) -> bool:
    files = httpx.get(f"{base}/api/health", headers=headers).json().get("files", {})
    finished = files.get("done", 0) + files.get("quarantined", 0) + files.get("failed", 0)
    return finished == expected and not files.get("in_progress") and not files.get("seen")


def wait_for(check: Callable[[], Any], proc: subprocess.Popen[bytes], root: Path, what: str) -> Any:
    """``check()`` once it is truthy; fails with the end of ``root/serve.log`` if the process ends
    first or the guard deadline (a hang guard only) passes."""
    deadline = time.monotonic() + GUARD_S
    while True:
        got = check()
        if got:
            return got
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"wafpipe serve: no {what}:\n{(root / 'serve.log').read_text()[-3000:]}")
        time.sleep(0.1)
