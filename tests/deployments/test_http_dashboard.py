"""The dashboard's API: stored predictions with outcomes, paging, calibration, weights, /ui."""

from __future__ import annotations

import gzip
import math
from importlib import resources

import pytest

from models.predictors.registry import predictor_names
from tests.deployments.dashboard_data import START, Seeded, seed_once

pytestmark = [pytest.mark.ray, pytest.mark.slow]
SYMBOL = "BNBUSDT"


@pytest.fixture(scope="module")
def bnb(serve_app, real_candles) -> Seeded:
    return seed_once(serve_app, SYMBOL, real_candles(SYMBOL).slice(START, 400))


def _mine(api, seeded: Seeded, **params) -> dict:
    query = {"since": seeded.since, "until": seeded.until, **params}
    r = api.client.get(f"/v1/predictions/{seeded.symbol}", params=query)
    assert r.status_code == 200, r.text
    return r.json()


def test_predictions_newest_last_with_answers_and_outcomes(api, bnb):
    body = _mine(api, bnb)
    got = body["predictions"]
    assert [p["prediction_id"] for p in got] == bnb.ids and body["count"] == len(bnb.ids)
    assert body["next_until"] is None
    assert [p["as_of"] for p in got] == sorted(p["as_of"] for p in got)
    closes = dict(zip(bnb.candles["timestamp"].to_list(), bnb.candles["close"], strict=True))
    times = bnb.candles["timestamp"].to_list()
    for p in got[:-1]:
        assert set(p["models"]) == set(predictor_names())
        assert "indicators" in p["experts"] and p["regime"]["name"]
        assert p["score"] is not None
        assert abs(sum(p["probabilities"].values()) - 1) < 1e-9
        at = next(i for i, t in enumerate(times) if t.isoformat() == p["as_of"])
        expected = math.log(closes[times[at + 4]] / closes[times[at]])
        assert p["outcome"]["realized_return"] == pytest.approx(expected, rel=1e-12)
        assert p["outcome"]["label"] in ("up", "flat", "down")
        direction = {"up": 1, "flat": 0, "down": -1}[p["outcome"]["label"]]
        assert p["outcome"]["correct"] is (direction == p["direction"])
    assert got[-1]["outcome"] is None  # the newest is pending
    assert body["degraded"]["of"] == len(bnb.ids)


def test_large_reads_are_gzipped_for_clients_that_accept_it(api, bnb):
    url = f"/v1/predictions/{SYMBOL}"
    packed = api.client.get(url, headers={"Accept-Encoding": "gzip"})
    plain = api.client.get(url, headers={"Accept-Encoding": "identity"})
    assert packed.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert packed.json() == plain.json()
    assert int(packed.headers["content-length"]) < len(plain.content) / 2


def test_paging_returns_each_prediction_once(api, bnb):
    seen, until = [], bnb.until
    while until is not None:
        body = _mine(api, bnb, until=until, limit=3)
        assert body["count"] <= 3
        seen = [p["prediction_id"] for p in body["predictions"]] + seen
        until = body["next_until"]
    assert seen == bnb.ids


def test_calibration_counts_what_resolved(api, bnb):
    cal = api.client.get(f"/v1/calibration/{SYMBOL}").json()
    listed = api.client.get(f"/v1/predictions/{SYMBOL}", params={"limit": 5000}).json()
    resolved = [p for p in listed["predictions"] if p["outcome"] is not None]
    assert cal["resolved"] == len(resolved) >= len(bnb.ids) - 1
    assert sum(b["count"] for b in cal["confidence"]) == cal["resolved"]
    assert sum(b["count"] for b in cal["reliability"]) == 3 * cal["resolved"]
    right = sum(p["outcome"]["correct"] for p in resolved)
    hits = sum(b["accuracy"] * b["count"] for b in cal["confidence"] if b["count"])
    assert hits == pytest.approx(right)
    assert cal["threshold"] == listed["predictions"][-1]["threshold"]


def test_weights_history_follows_the_predictions(api, bnb):
    body = api.client.get(
        f"/v1/weights/{SYMBOL}", params={"since": bnb.since, "until": bnb.until}
    ).json()
    listed = _mine(api, bnb)["predictions"]
    assert len(body["points"]) == len(listed) and "indicators" in body["experts"]
    first = listed[0]["experts"]
    assert body["points"][0]["weights"] == {n: e["weight"] for n, e in first.items()}


def test_symbols_lists_stored_candles(api, bnb):
    listed = {s["symbol"]: s["candles"] for s in api.client.get("/v1/symbols").json()["symbols"]}
    assert listed[SYMBOL] == bnb.candles.height


@pytest.mark.parametrize(
    ("path", "params", "field", "status"),
    [
        ("/v1/predictions/BNBUSDT", {"since": "yesterday"}, "since", 422),
        ("/v1/predictions/BNBUSDT", {"until": "2024-13-01"}, "until", 422),
        ("/v1/predictions/BNBUSDT", {"limit": 0}, "limit", 422),
        ("/v1/predictions/BNBUSDT", {"limit": 5001}, "limit", 422),
        ("/v1/predictions/BNBUSDT", {"since": "2024-02-01", "until": "2024-01-01"}, "since", 422),
        ("/v1/predictions/bnb", {}, "symbol", 422),
        ("/v1/weights/BNBUSDT", {"limit": "x"}, "limit", 422),
        ("/v1/calibration/BNBUSDT", {"bins": 1}, "bins", 422),
        ("/v1/calibration/BNBUSDT", {"limit": 100_001}, "limit", 422),
        ("/v1/calibration/BTCEUR", {}, "symbol", 404),
    ],
)
def test_bad_parameters_are_4xx_naming_the_field(api, path, params, field, status):
    r = api.client.get(path, params=params)
    assert r.status_code == status, r.text
    assert r.json()["errors"][0]["field"] == field and r.json()["detail"].startswith(field)


def test_page_and_chart_library_are_served(api):
    page = api.client.get("/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/ui/static/plotly.min.js">' in page.text and "cdn" not in page.text
    raw = resources.files("plotly").joinpath("package_data/plotly.min.js").read_bytes()
    packed = api.client.get("/ui/static/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert packed.status_code == 200 and packed.headers["content-encoding"] == "gzip"
    assert packed.content == raw  # httpx decodes it
    assert int(packed.headers["content-length"]) < len(raw) / 2
    etag = packed.headers["etag"]
    again = api.client.get("/ui/static/plotly.min.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    plain = api.client.get("/ui/static/plotly.min.js", headers={"Accept-Encoding": "identity"})
    assert plain.content == raw and "content-encoding" not in plain.headers
    paths = api.client.get("/openapi.json").json()["paths"]
    for route in ("/v1/predictions/{symbol}", "/v1/calibration/{symbol}", "/v1/weights/{symbol}"):
        assert route in paths
    assert "/v1/symbols" in paths and "/ui" in paths
    assert gzip.decompress(gzip.compress(raw))[:10] == raw[:10]
