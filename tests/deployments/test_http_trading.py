"""The trading layer over real HTTP (the session app: no feed, so its books never step):
every answer says its expected return and position, the portfolio endpoints answer, bad
parameters are 4xx naming the field, the reset is a keyed write."""

from __future__ import annotations

import pytest

from tests.deployments.conftest import candles_json

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _fields(response) -> list[str]:
    return [e["field"] for e in response.json()["errors"]]


def test_an_answer_carries_its_expected_return_and_position(api, real_candles):
    frame = real_candles("ETHUSDT").slice(7000, 300)
    r = api.predict("ETHUSDT", frame)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "expected_return_bps" in body and "expected_return_se_bps" in body
    position = body["position"]
    assert position["book"] == "paper" and position["cost_bps"] == 10.0
    assert position["action"] == "flat" and position["target"] == 0.0
    assert not position["certified"] and not body["actionable"]  # nothing certified here
    assert body["reasons"][-1] == f"position: {position['reason']}"
    cheap = api.client.post(
        "/v1/predict", json={"symbol": "ETHUSDT", "candles": candles_json(frame), "cost_bps": 4}
    )
    assert cheap.status_code == 200 and cheap.json()["position"]["cost_bps"] == 4.0


@pytest.mark.parametrize("cost", [-1, 1001, "10", None])
def test_a_bad_cost_is_refused_naming_it(api, real_candles, cost):
    frame = real_candles("ETHUSDT").slice(7000, 300)
    body = {"symbol": "ETHUSDT", "candles": candles_json(frame), "cost_bps": cost}
    r = api.client.post("/v1/predict", json=body)
    if cost is None:  # explicit null: the configured costs
        assert r.status_code == 200
        return
    assert r.status_code == 422 and _fields(r) == ["cost_bps"]


def test_the_portfolio_endpoints_answer_without_a_feed(api):
    view = api.client.get("/v1/portfolio").json()
    assert view["enabled"] is False and view["symbols"] == []
    assert view["costs"] == {"fee_bps": 4.0, "slippage_bps": 1.0, "round_trip_bps": 10.0}
    for name in ("paper", "shadow"):
        book = view["books"][name]
        assert book["equity"] == book["cash"] == 10_000.0 and book["positions"] == []
    assert api.client.get("/v1/portfolio/targets").json()["books"] == {"paper": {}, "shadow": {}}
    curves = api.client.get("/v1/portfolio/equity", params={"limit": 5}).json()
    assert curves == {"books": {"paper": [], "shadow": []}}
    trades = api.client.get("/v1/trades", params={"book": "shadow"}).json()
    assert trades == {"book": "shadow", "trades": [], "next_before": None}


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/trades", {"book": "mine"}, "book"),
        ("/v1/trades", {"limit": 0}, "limit"),
        ("/v1/trades", {"before": "x"}, "before"),
        ("/v1/portfolio/equity", {"limit": 10**9}, "limit"),
    ],
)
def test_bad_parameters_name_the_field(api, path, params, field):
    r = api.client.get(path, params=params)
    assert r.status_code == 422 and _fields(r) == [field]


def test_the_reset_is_a_keyed_write(api):
    assert api.client.post("/v1/portfolio/reset", json={"book": "all"}).status_code == 401
    r = api.client.post("/v1/portfolio/reset", json={"book": "mine"}, headers=api.auth)
    assert r.status_code == 422 and _fields(r) == ["book"]
    r = api.client.post("/v1/portfolio/reset", json={"book": "all"}, headers=api.auth)
    assert r.status_code == 200 and r.json() == {"reset": ["paper", "shadow"], "equity": 10_000.0}
