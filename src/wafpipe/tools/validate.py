"""``wafpipe validate``: the integration guide's four validation steps, run, each a pass or a fail
with its evidence (issue 24 item 4).

1. **Files arrive.** Imperva pushes a log file every few minutes: security events typically 3–5
   minutes after they happen, access events 10–30. The newest stored event must be younger than
   :data:`MAX_DELAY_S` (the access delay's upper bound); the newest security event is shown beside it.
2. **The collector is healthy.** The read side's health: nothing failed, stuck or held back, no
   dead letter waiting, no gap; its problems are the evidence.
3. **Events are searchable** for ``event.dataset:"imperva.waf"`` in the last ``window``, with
   ``source.ip`` and ``imperva.waf.security_event`` filled in every one of them.
4. **The test request** (``--expect-test-event``): the guide ends by sending ``?id=' OR 1=1`` to a
   protected site; that request must be in the store — found whatever its URL encoding — and
   blocked. Waits up to ``wait_s`` for it, asking again every :data:`POLL_S`.

Everything is read through the read side (the running collector's API, or the store and state
read-only), so validate never changes what it checks. Times are :func:`wafpipe.clock.now`, so a
test can set the clock to the end of its data (``WAFPIPE_NOW``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus

from wafpipe import clock
from wafpipe.errors import WafpipeError
from wafpipe.store.service import Reader
from wafpipe.tools.checks import Check

MAX_DELAY_S = 30 * 60
POLL_S = 5.0
DATASET = 'event.dataset:"imperva.waf"'
SECURITY = "imperva.waf.security_event:true"
TEST_QUERY = "id=' or 1=1"  # the guide's test request, as compared: decoded, lower case, spaces squeezed


def _age(ts: str | None, now: datetime) -> float | None:
    if not ts:
        return None
    return (now - datetime.fromisoformat(ts.replace("Z", "+00:00"))).total_seconds()


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if abs(seconds) >= 90 else f"{seconds:.0f} s"


def _newest(reader: Reader, q: str) -> str | None:
    found = reader.search(q, limit=1, fields=["@timestamp"])["events"]
    return str(found[0]["@timestamp"]) if found else None


def files_arrive(reader: Reader, now: datetime) -> Check:
    name = "files arrive"
    newest, security = _newest(reader, ""), _newest(reader, SECURITY)
    age = _age(newest, now)
    if age is None:
        return Check(name, False, "no event is stored yet",
                     "check the log configuration in Imperva's console and the source's path or bucket")  # fmt: skip
    sec_age = _age(security, now)
    evidence = f"newest event {newest} ({_minutes(age)} ago)" + (
        f", newest security event {security} ({_minutes(sec_age)} ago)" if sec_age is not None else ", no security event")
    if age > MAX_DELAY_S:
        return Check(name, False, evidence,
                     f"Imperva delivers within {MAX_DELAY_S // 60} min: look at the source's health (wafpipe doctor) "
                     "and at the log setup in Imperva's console")  # fmt: skip
    if age < -300:
        return Check(name, False, evidence, "the newest event is in the future: check this machine's clock (NTP)")
    return Check(name, True, evidence)


def collector_healthy(reader: Reader) -> Check:
    name = "collector healthy"
    health = reader.health()
    files = health.get("files") or {}
    done = ", ".join(f"{k} {v}" for k, v in files.items()) or "no file read yet"
    live = health.get("collector") or {}
    last = live.get("last_success")
    evidence = f"files: {done}" + (f"; last batch stored {last}" if last else "")
    problems = health.get("problems") or []
    if health.get("status") != "ok" or not files.get("done"):
        reasons = "; ".join(str(p) for p in problems[:5]) or "no file has been stored yet"
        return Check(name, False, f"{evidence}; {reasons}", "wafpipe doctor names the cause of each problem")
    return Check(name, True, evidence)


def events_searchable(reader: Reader, now: datetime, window: timedelta) -> Check:
    name = "events searchable"
    since = now - window
    total = reader.count(DATASET, since, now)["count"]
    with_ip = reader.count(f"{DATASET} and source.ip:*", since, now)["count"]
    with_flag = reader.count(f"{DATASET} and imperva.waf.security_event:*", since, now)["count"]
    evidence = (f"{total} events for {DATASET} in the last {_minutes(window.total_seconds())}; "
                f"{with_ip} with source.ip, {with_flag} with imperva.waf.security_event")  # fmt: skip
    if not total:
        return Check(name, False, evidence, "no event in the window: see 'files arrive'; widen it with --window")
    if with_ip < total or with_flag < total:
        return Check(name, False, evidence, "some events lack the fields: look at one (wafpipe query) and its raw line")
    return Check(name, True, evidence)


def _is_test_request(query: Any) -> bool:
    text = " ".join(unquote_plus(str(query or "")).lower().split())
    return TEST_QUERY in text


def test_event(reader: Reader, now: datetime, window: timedelta, wait_s: float,
               sleep: Callable[[float], None] = time.sleep) -> Check:  # fmt: skip
    name = "test request"
    deadline = time.monotonic() + wait_s
    while True:
        found = reader.search("url.query:*", limit=1000, since=now - window,
                              fields=["@timestamp", "url.query", "url.domain", "imperva.waf.action_class",
                                      "imperva.waf.action"])["events"]  # fmt: skip
        hits = [e for e in found if _is_test_request(e.get("url.query"))]
        if hits or time.monotonic() >= deadline:
            break
        sleep(POLL_S)
    if not hits:
        return Check(name, False, f"no request with ?{TEST_QUERY} in the last {_minutes(window.total_seconds())}",
                     "send it (curl \"https://<site>/?id='%20OR%201=1\") and run validate again, or wait longer "
                     "with --wait")  # fmt: skip
    hit = hits[0]
    evidence = f"{hit.get('url.domain')} at {hit.get('@timestamp')}: {hit.get('imperva.waf.action')}"
    if hit.get("imperva.waf.action_class") != "blocked":
        return Check(name, False, evidence + " — it was not blocked",
                     "set the site's SQL injection policy to block in Imperva's console")  # fmt: skip
    return Check(name, True, evidence + " — blocked")


def validate(reader: Reader, *, window: timedelta = timedelta(hours=1), expect_test_event: bool = False,
             wait_s: float = 0.0) -> list[Check]:  # fmt: skip
    """Every check, in the guide's order. A read that fails is that check's failure, not a crash."""
    now = datetime.fromtimestamp(clock.now(), UTC)
    steps: list[tuple[str, Callable[[], Check]]] = [
        ("files arrive", lambda: files_arrive(reader, now)),
        ("collector healthy", lambda: collector_healthy(reader)),
        ("events searchable", lambda: events_searchable(reader, now, window)),
    ]
    if expect_test_event:
        steps.append(("test request", lambda: test_event(reader, now, window, wait_s)))
    checks = []
    for name, step in steps:
        try:
            checks.append(step())
        except WafpipeError as exc:
            checks.append(Check(name, False, f"could not be read: {exc}", exc.hint or ""))
    return checks
