"""The dashboard in a real browser: headless OS Chromium (Playwright) against the real app.

Skipped, with the reason, where Playwright or the OS ``chromium`` is missing (``.ci/run``
installs both). Screenshots go to ``artifacts/`` (or ``$SMARTMARKET_ARTIFACTS``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.deployments.dashboard_data import START, Seeded, seed_once

pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.browser]

CHROMIUM = os.environ.get("SMARTMARKET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("SMARTMARKET_ARTIFACTS", Path(__file__).parents[2] / "artifacts"))
DRAWN_MARKERS = "#price-chart .scatterlayer .trace .points path.point"
WAIT_MS = 60_000


@pytest.fixture(scope="module")
def chromium() -> Any:
    """A headless OS Chromium with a fresh profile (skips with the reason when missing)."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: pip install -e '.[dev]'"
    )
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (as root; .ci/run does)")
    with sync_api.sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context.set_default_timeout(WAIT_MS)
        yield context
        context.close()


@pytest.fixture(scope="module")
def seeded(serve_app, real_candles) -> dict[str, Seeded]:
    return {s: seed_once(serve_app, s, real_candles(s).slice(START, 400)) for s in SHOWN}


SHOWN = ("ETHUSDT", "BNBUSDT")


class Page:
    """One browser tab on the dashboard, recording console errors."""

    def __init__(self, context: Any, base_url: str) -> None:
        self.tab = context.new_page()
        self.base_url = base_url
        self.errors: list[str] = []
        self.tab.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.tab.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, symbol: str) -> None:
        self.tab.goto(f"{self.base_url}/ui?symbol={symbol}&poll=1000")
        self.wait_symbol(symbol)

    def wait_symbol(self, symbol: str) -> None:
        self.tab.wait_for_function(f"document.body.dataset.symbol === '{symbol}'")

    def drawn_markers(self) -> int:
        return self.tab.locator(DRAWN_MARKERS).count()


@pytest.fixture
def page(chromium, serve_app) -> Page:
    tab = Page(chromium, str(serve_app.client.base_url).rstrip("/"))
    yield tab
    tab.tab.close()


def _shown(api, symbol: str) -> list[dict]:
    """The predictions the page asks for: in the range of the newest 2,000 candles."""
    first = api.client.get(f"/v1/candles/{symbol}", params={"limit": 2000}).json()["candles"][0]
    params = {"since": first["timestamp"], "limit": 5000}
    return api.client.get(f"/v1/predictions/{symbol}", params=params).json()["predictions"]


def test_page_draws_one_marker_per_prediction_without_console_errors(page, api, seeded):
    page.open("ETHUSDT")
    expected = _shown(api, "ETHUSDT")
    assert len(expected) >= len(seeded["ETHUSDT"].ids)
    assert page.drawn_markers() == len(expected)
    assert page.tab.evaluate("document.body.dataset.markers") == str(len(expected))
    hover = page.tab.evaluate(
        "document.getElementById('price-chart').data.filter(t => t.meta === 'prediction')"
        ".flatMap(t => t.hovertext).join('\\n')"
    )
    assert "indicators:" in hover and "combined score" in hover
    assert "RIGHT" in hover or "WRONG" in hover
    assert page.errors == []


def test_calibration_view_counts_equal_the_api(page, api, seeded):
    page.open("ETHUSDT")
    cal = api.client.get("/v1/calibration/ETHUSDT").json()
    counts = page.tab.locator("#calibration-table td.count").all_inner_texts()
    assert [int(c) for c in counts] == [b["count"] for b in cal["confidence"] if b["count"]]
    assert page.tab.inner_text("#resolved-count") == str(cal["resolved"])
    assert page.errors == []


def test_books_panel_shows_both_books_and_buy_and_hold(page, api, seeded):
    page.open("ETHUSDT")
    view = api.client.get("/v1/portfolio").json()
    rows = page.tab.locator("#books-table tr").all_inner_texts()
    assert [r.split()[0] for r in rows[1:]] == list(view["books"])  # paper, shadow
    names = page.tab.evaluate("document.getElementById('books-chart').data.map(t => t.name)")
    assert names == ["paper", "shadow", "buy-and-hold"]
    assert "not stepped" in page.tab.inner_text("#books-summary")  # this app has no feed
    assert page.errors == []


def test_switching_symbol_redraws(page, api, seeded):
    page.open("ETHUSDT")
    page.tab.select_option("#symbol", "BNBUSDT")
    page.wait_symbol("BNBUSDT")
    expected = _shown(api, "BNBUSDT")
    assert page.drawn_markers() == len(expected)
    newest = page.tab.evaluate("document.body.dataset.newest")
    assert newest == expected[-1]["prediction_id"]
    assert page.errors == []


def test_new_candle_shows_its_prediction_without_reload(page, api, seeded, real_candles):
    page.open("ETHUSDT")
    before = page.drawn_markers()
    page.tab.evaluate("window.__sameDocument = true")
    eth = seeded["ETHUSDT"]
    nxt = real_candles("ETHUSDT").slice(START + eth.candles.height, 1).to_dicts()[0]
    bar = {k: nxt[k] for k in ("open", "high", "low", "close", "volume")}
    body = {"symbol": "ETHUSDT", "features": {**bar, "timestamp": nxt["timestamp"].isoformat()}}
    r = api.client.post("/enhanced/predict", json=body, headers=api.auth)
    assert r.status_code == 200, r.text
    pid = r.json()["prediction_id"]
    page.tab.wait_for_function(f"document.body.dataset.newest === '{pid}'")
    assert page.tab.evaluate("window.__sameDocument") is True  # no reload happened
    assert page.drawn_markers() == before + 1
    assert page.errors == []


@pytest.mark.parametrize(("name", "width", "height"), [("", 1280, 800), ("-phone", 390, 844)])
def test_readable_at_desktop_and_phone_sizes(page, seeded, name, width, height):
    page.tab.set_viewport_size({"width": width, "height": height})
    page.open("ETHUSDT")
    page.tab.wait_for_timeout(500)  # responsive charts settle after the resize
    overflow = page.tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.tab.screenshot(path=str(ARTIFACTS / f"dashboard{name}.png"), full_page=True)
    assert page.errors == []


@pytest.mark.redeploys_shared_app  # runs last here: the app stays protected after it
def test_protected_reads_ask_for_the_key_once_per_tab(page, serve_app, seeded):
    """With SMARTMARKET_PROTECT_READS the page still loads, asks for the key (again after
    a wrong one), keeps it for the tab and draws; refused fetches are its only errors."""
    serve_app.deploy("protected")
    assert serve_app.client.get("/v1/symbols").status_code == 401
    page.tab.goto(f"{page.base_url}/ui?symbol=ETHUSDT&poll=1000")
    page.tab.wait_for_selector("#key-form:not([hidden])")
    page.tab.fill("#key", "not-the-key")
    page.tab.click("#key-form button")
    page.tab.wait_for_function(
        "document.getElementById('key-note').textContent.includes('refused')"
    )
    page.tab.fill("#key", serve_app.key)
    page.tab.click("#key-form button")
    page.wait_symbol("ETHUSDT")
    assert page.drawn_markers() > 0
    kept = page.tab.evaluate("sessionStorage.getItem('smartmarket.apiKey')")
    assert kept == serve_app.key
    page.tab.reload()
    page.wait_symbol("ETHUSDT")
    assert page.tab.locator("#key-form").is_hidden()  # kept for the tab: asked once
    refused = ("401", "403")
    assert [e for e in page.errors if not any(code in e for code in refused)] == []
