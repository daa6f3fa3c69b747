"""Who may see the UI, over plain HTTP: every route needs the token or a session, the login link
works once, state changes need the CSRF token, and every answer carries the security headers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.web.conftest import Served

PAGES = ("/", "/search", "/search?q=*", "/events/abc", "/attacks", "/health", "/export", "/static/app.js",
         "/static/vendor/chart.umd.js", "/no/such/page")
MACHINE = ("/api/health", "/api/search", "/api/top?field=source.ip", "/metrics", "/api/no/such")


@contextmanager
def session(served: Served) -> Iterator[httpx.Client]:
    """A client logged in with the token typed into the login page."""
    with httpx.Client(base_url=served.url) as client:
        answer = client.post("/login", data={"token": served.token})
        assert answer.status_code == 303 and client.cookies.get("wafpipe_session"), answer.text
        yield client


def test_without_credentials_pages_go_to_the_login_page_and_machine_routes_answer_401(served: Served) -> None:
    with httpx.Client(base_url=served.url) as anonymous:
        for path in PAGES:
            answer = anonymous.get(path)
            assert answer.status_code == 303 and answer.headers["location"] == "/login", path
        for path in MACHINE:
            assert anonymous.get(path).status_code == 401, path
        assert anonymous.post("/logout").status_code == 303  # to the login page, nothing done
        login = anonymous.get("/login")
        assert login.status_code == 401 and 'name="token"' in login.text
        assert anonymous.post("/login", data={"token": "wrong"}).status_code == 401
        assert anonymous.get("/", headers={"Cookie": "wafpipe_session=forged"}).status_code == 303


def test_the_login_link_works_once_and_sets_a_strict_http_only_cookie(served: Served) -> None:
    with httpx.Client() as first:
        answer = first.get(served.login_url)
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert first.get(f"{served.url}/").status_code == 200
    with httpx.Client() as second:
        again = second.get(served.login_url)
        assert again.status_code == 401 and "used already" in again.text


def test_a_state_change_needs_the_csrf_token(served: Served) -> None:
    with session(served) as client:
        page = client.get("/")
        token = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        assert token
        assert client.post("/logout").status_code == 403
        assert client.post("/logout", headers={"X-CSRF-Token": "x" + token}).status_code == 403
        assert client.get("/").status_code == 200  # still logged in
        assert client.post("/logout", headers={"X-CSRF-Token": token}).status_code == 303
        assert client.get("/").status_code == 303  # the session ended


def test_every_answer_carries_the_security_headers(served: Served) -> None:
    with session(served) as client:
        for path in ("/", "/search?q=source.ip:*", "/attacks", "/health", "/static/app.js", "/login"):
            headers = client.get(path).headers
            csp = headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
            assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"


def test_the_api_still_takes_the_bearer_token(served: Served) -> None:
    answer = httpx.get(f"{served.url}/api/count", headers=served.headers())
    assert answer.status_code == 200 and answer.json()["count"] > 0


def test_the_api_is_described_by_its_openapi_schema(served: Served) -> None:
    assert httpx.get(f"{served.url}/api/openapi.json").status_code == 401
    schema = httpx.get(f"{served.url}/api/openapi.json", headers=served.headers()).json()
    assert {"/api/search", "/api/count", "/api/top", "/api/histogram", "/api/health"} <= set(schema["paths"])
    assert not [p for p in schema["paths"] if not p.startswith(("/api/", "/metrics"))]  # pages are not API


def test_the_health_page_warns_of_a_clock_behind_the_events(served: Served) -> None:
    """The served collector's clock is set an hour before the first event (``WAFPIPE_NOW``)."""
    with session(served) as client:
        text = client.get("/health").text
    assert 'id="clock-skew"' in text and "minutes in the future" in text


def test_another_site_cannot_post_a_login(served: Served) -> None:
    answer = httpx.post(f"{served.url}/login", data={"token": served.token}, headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403 and "set-cookie" not in answer.headers


def test_a_huge_login_form_is_refused_unread(served: Served) -> None:
    answer = httpx.post(f"{served.url}/login", content=b"token=" + b"x" * 100_000,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413 and "set-cookie" not in answer.headers
