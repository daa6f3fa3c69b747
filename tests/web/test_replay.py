"""Dead letters replayed while the collector runs: from the Health page's button (in Chromium, with the
session's CSRF token), and from ``wafpipe deadletters replay``, which hands the work to the running
collector through its API instead of refusing. Each goes through the collector's own loop and sinks:
what still fails says why and stays; what decodes now is stored once, with the id ingest gives.

The decoder fix is simulated on the data side, as in tests/cli/test_replay.py: the dead letter's
recorded bytes are replaced by bytes that decode."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.helpers import broken, fix_dead_letter, wafpipe
from tests.filebuilder import make_file, sample_lines
from tests.web.conftest import ARTIFACTS, Served, serving

GOOD = sample_lines(4)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Two good lines and two that do not decode (ordinals 1 and 3)."""
    root = tmp_path_factory.mktemp("replay")
    (root / "incoming").mkdir()
    body = "\n".join([GOOD[0], broken(GOOD[2]), GOOD[1], broken(GOOD[3])]) + "\n"
    (root / "incoming" / "1_1.log").write_bytes(make_file(body.encode()))
    with serving(root, 2) as running:
        yield running


def stored(served: Served) -> int:
    return int(httpx.get(f"{served.url}/api/count", headers=served.headers()).json()["count"])


def replay_in_page(page: Any, served: Served) -> str:
    page.goto(f"{served.url}/health")
    page.click("#replay")
    page.wait_for_selector("#replay-result[data-done='1']")
    return str(page.inner_text("#replay-result"))


def test_the_health_page_replays_what_decodes_now_and_says_why_the_rest_fails(page: Any, served: Served) -> None:
    assert stored(served) == 2
    page.goto(f"{served.url}/health")
    assert page.locator("#dead-letters tbody tr").count() == 2
    # not fixed yet: nothing replayed, each with its reason, nothing stored
    text = replay_in_page(page, served)
    assert "decode: replayed 0, still failing 2" in text and "2 × decode:" in text, text
    assert stored(served) == 2
    # the line at ordinal 1 decodes now
    fix_dead_letter(served.root, 1, GOOD[2].encode())
    text = replay_in_page(page, served)
    page.screenshot(path=str(ARTIFACTS / "replay.png"), full_page=True)
    assert "decode: replayed 1, still failing 1" in text, text
    assert stored(served) == 3
    found = httpx.get(f"{served.url}/api/search", params={"q": "imperva.waf.file.ordinal:1", "fields": "event.original"},
                      headers=served.headers()).json()["events"]  # fmt: skip
    assert [e["event.original"] for e in found] == [GOOD[2]]
    page.goto(f"{served.url}/health")
    assert page.locator("#dead-letters tbody tr").count() == 1
    assert not page.dialogs


def test_the_command_hands_the_replay_to_the_running_collector(served: Served) -> None:
    fix_dead_letter(served.root, 3, GOOD[3].encode())
    res = wafpipe("deadletters", "replay", "-c", "wafpipe.toml", cwd=Path(served.root))
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert "decode: replayed 1, still failing 0" in res.stdout
    assert stored(served) == 4
    res = wafpipe("deadletters", "replay", "-c", "wafpipe.toml", cwd=Path(served.root))
    assert res.returncode == 0 and "replayed 0, still failing 0" in res.stdout  # nothing twice
    assert stored(served) == 4


def test_a_replay_needs_the_csrf_token_with_a_session_and_is_not_a_get(page: Any, served: Served) -> None:
    page.goto(f"{served.url}/health")
    without = page.evaluate("async () => (await fetch('/api/deadletters/replay', {method: 'POST'})).status")
    assert without == 403
    assert httpx.get(f"{served.url}/api/deadletters/replay", headers=served.headers()).status_code == 405
    assert httpx.post(f"{served.url}/api/deadletters/replay").status_code == 401
