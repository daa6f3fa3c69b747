"""The UI in Debian's Chromium, driven by Playwright: charts with data, a chart click landing in a
filtered search, a query, an event opened, exports downloaded and checked, attack payloads inert on
every page, and the health page showing what went wrong. Screenshots are kept in
``test-artifacts/web/`` (git-ignored) for a person to look at."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx

from tests.web.conftest import ARTIFACTS, PAYLOADS, Served


def api(served: Served, path: str, **params: str) -> Any:
    return httpx.get(f"{served.url}{path}", params=params, headers=served.headers()).json()


def chart(page: Any, canvas: str) -> Any:
    page.wait_for_selector(f"#{canvas}[data-ready='1']", state="attached")
    return page.evaluate(f"""() => {{
        const c = Chart.getChart(document.getElementById('{canvas}'));
        return {{labels: c.data.labels, first: c.data.datasets[0].data,
                 sums: c.data.datasets.map(d => d.data.reduce((a, b) => a + b, 0)),
                 bars: c.getDatasetMeta(0).data.map(e => [e.x, e.y, e.base])}};
    }}""")


def test_overview_charts_lead_to_search_events_and_exports(page: Any, served: Served) -> None:
    page.goto(f"{served.url}/")
    timeline = chart(page, "timeline")
    types = chart(page, "attack-types")
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
    classes = api(served, "/api/top", field="imperva.waf.action_class", limit="10")["values"]
    assert sum(timeline["sums"]) == sum(v["count"] for v in classes) > 0  # every class drawn, all its events
    first_type = types["labels"][0]
    x, y, base = types["bars"][0]
    box = page.locator("#attack-types").bounding_box()
    with page.expect_navigation():
        page.mouse.click(box["x"] + (base + x) / 2, box["y"] + y)
    assert "/search?" in page.url and "rule.category" in page.url
    expected = api(served, "/api/count", q=f'imperva.waf.security_event:true and rule.category:"{first_type}"')
    assert int(page.inner_text("#total")) == expected["count"] == types["first"][0]

    page.fill("form.query input[name=q]", "http.response.status_code >= 400")
    with page.expect_navigation():
        page.press("form.query input[name=q]", "Enter")
    total = int(page.inner_text("#total"))
    assert total == api(served, "/api/count", q="http.response.status_code >= 400")["count"] > 0
    page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=True)

    with page.expect_download() as got:
        page.click("#export-ndjson")
    lines = Path(got.value.path()).read_text().splitlines()
    assert len(lines) == total and all(json.loads(line)["http"]["response"]["status_code"] >= 400 for line in lines)
    with page.expect_download() as got:
        page.click("#export-csv")
    rows = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text())))
    assert len(rows) == total and {r["_id"] for r in rows} == {json.loads(line)["_id"] for line in lines}

    with page.expect_navigation():
        page.click("table.events a.open >> nth=0")
    event_id = page.url.rsplit("/events/", 1)[1]
    assert page.inner_text("#original") == api(served, f"/api/events/{event_id}")["event"]["original"]
    page.screenshot(path=str(ARTIFACTS / "event.png"), full_page=True)


def test_a_click_on_the_timeline_searches_that_bucket_and_outcome(page: Any, served: Served) -> None:
    page.goto(f"{served.url}/")
    timeline = chart(page, "timeline")
    index = max(range(len(timeline["first"])), key=lambda i: timeline["first"][i])  # the tallest "blocked" bar
    x, y, base = timeline["bars"][index]
    box = page.locator("#timeline").bounding_box()
    with page.expect_navigation():
        page.mouse.click(box["x"] + x, box["y"] + (y + base) / 2)
    params = httpx.URL(page.url).params
    assert params["q"] == "imperva.waf.action_class:blocked" and params["since"] == timeline["labels"][index]
    assert int(page.inner_text("#total")) == timeline["first"][index] > 0


def test_the_world_map_shades_source_countries_and_a_click_searches_one(page: Any, served: Served) -> None:
    page.goto(f"{served.url}/")
    page.wait_for_selector("#world-map[data-ready='1']", state="attached")
    countries = api(served, "/api/top", field="source.geo.country_iso_code", limit="300")["values"]
    assert int(page.get_attribute("#world-map", "data-countries")) > len(countries) // 2 > 0
    box = page.locator("#world-map").bounding_box()
    lon, lat = -100.0, 40.0  # the middle of the United States
    with page.expect_navigation():
        page.mouse.click(box["x"] + (lon + 180) / 360 * box["width"], box["y"] + (90 - lat) / 180 * box["height"])
    assert int(page.inner_text("#total")) == api(served, "/api/count", q='source.geo.country_iso_code:"US"')["count"]
    assert "country_iso_code" in page.url


def test_attack_payloads_stay_text_on_every_page(page: Any, served: Served) -> None:
    found = api(served, "/api/search", q='"xss-script" or "xss-img" or "xss-url" or "OR 1=1"', limit="50")["events"]
    assert len(found) >= len(PAYLOADS)
    visits = ["/", "/attacks", "/health", "/alerts", "/search?range=all&q=" + httpx.QueryParams({"q": "url.domain:*"})["q"],
              "/search?" + str(httpx.QueryParams({"q": 'imperva.waf.client.app:"' + PAYLOADS[0].replace('"', '\\"') + '"'})),
              *(f"/events/{e['_id']}" for e in found[:8])]
    for path in visits:
        page.goto(f"{served.url}{path}")
        page.wait_for_load_state("networkidle")
        injected = page.evaluate("""() => document.querySelectorAll(
            'img[src="x"], script:not([src]), [onerror], [onclick], a[href^="javascript:"]').length""")
        assert injected == 0, path
    assert page.dialogs == []
    page.goto(f"{served.url}/search?" + str(httpx.QueryParams({"q": '"xss-script"'})))
    assert page.get_by_text(PAYLOADS[0]).count() >= 1  # shown, as text
    page.screenshot(path=str(ARTIFACTS / "payloads.png"), full_page=True)


def test_health_shows_the_corrupted_file_the_gap_and_the_dead_letters(page: Any, served: Served) -> None:
    page.goto(f"{served.url}/health")
    assert page.inner_text("#status") == "degraded"
    problems = page.inner_text("#problems")
    assert "quarantined" in problems and "dead letter" in problems and "gap" in problems
    assert "time_hole" in page.inner_text("#gaps")
    assert page.locator("#dead-letters tbody tr").count() > 0
    assert page.locator("#bad-files tbody tr").count() > 0
    assert "MD5 checksum" in problems and ".log" in page.inner_text("#checksum-files")
    assert page.inner_text("#retention") == "Retention: security kept forever, access kept forever."
    page.screenshot(path=str(ARTIFACTS / "health.png"), full_page=True)


def test_alerts_are_listed_lead_to_their_events_and_can_be_acknowledged(page: Any, served: Served) -> None:
    page.goto(f"{served.url}/alerts")
    rows = page.locator("#alerts tbody tr[data-id]")
    assert rows.count() > 0
    assert page.locator("#alerts").get_by_text("Cross-site scripting strings in the query").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "alerts.png"), full_page=True)
    first = rows.first
    alert_id = first.get_attribute("data-id")
    count = int(first.locator("td.n a").inner_text())
    href = first.locator("td.n a").get_attribute("href")
    page.goto(f"{served.url}{href}")
    assert int(page.inner_text("#total")) >= count  # its source's events in its time span (the alert's and others')
    page.goto(f"{served.url}/alerts")
    page.click(f"button.ack[data-id='{alert_id}']")
    page.wait_for_selector(f"tr[data-id='{alert_id}'] >> text=acknowledged")
    page.goto(f"{served.url}/alerts")
    assert page.locator(f"tr[data-id='{alert_id}']").count() == 0
    page.goto(f"{served.url}/alerts?acknowledged=true")
    assert page.locator(f"tr[data-id='{alert_id}']").count() == 1

