"""Stored candles, outcomes, automatic resolution and the auth rules, over HTTP."""

from __future__ import annotations

import math

import polars as pl
import pytest

from tests.deployments.conftest import candles_json

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def xrp(real_candles) -> pl.DataFrame:
    return real_candles("XRPUSDT").slice(7000, 400)


def test_candles_append_read_and_continuity(api, xrp):
    url = "/v1/candles/XRPUSDT"
    r = api.client.post(url, json={"candles": candles_json(xrp.head(100))}, headers=api.auth)
    assert r.status_code == 201, r.text
    assert r.json()["appended"] == 100 and r.json()["resolved"] == []
    back = api.client.get(url, params={"limit": 30}).json()
    assert back["count"] == 30
    assert [c["close"] for c in back["candles"]] == xrp["close"].slice(70, 30).to_list()
    for overlap in (xrp.slice(99, 2), xrp.slice(50, 1)):
        r = api.client.post(url, json={"candles": candles_json(overlap)}, headers=api.auth)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "candles[0].timestamp"
        assert "continue after the last stored timestamp" in r.json()["detail"]
    unsorted = candles_json(xrp.slice(100, 3))[::-1]
    r = api.client.post(url, json={"candles": unsorted}, headers=api.auth)
    assert r.status_code == 422 and "earlier" in r.json()["detail"]
    assert api.client.get(url, params={"limit": 1000}).json()["count"] == 100
    missing = api.client.get("/v1/candles/AVAXUSDT")
    assert missing.status_code == 404 and "POST /v1/candles/AVAXUSDT" in missing.json()["detail"]


def test_outcome_updates_trackers_once(api, real_candles):
    frame = real_candles("ADAUSDT").slice(9000, 300)
    assert api.append("ADAUSDT", frame).status_code == 201
    pid = api.signal("ADAUSDT").json()["prediction_id"]
    before = api.client.get("/v1/performance/ADAUSDT").json()
    r = api.client.post(
        "/v1/outcomes", json={"prediction_id": pid, "realized_return": 0.03}, headers=api.auth
    )
    assert r.status_code == 200, r.text
    change = r.json()
    assert change["prediction_id"] == pid and change["realized_direction"] == 1
    assert change["learned"] is True
    after = api.client.get("/v1/performance/ADAUSDT").json()
    for model in ("indicators", "smc"):  # the members that answered
        gained = after["models"][model]["outcomes"] - before["models"][model]["outcomes"]
        assert gained == 1
    for model in ("transformer", "cnn_lstm"):  # no model for ADAUSDT: asleep, not scored
        assert after["models"][model]["outcomes"] == 0
    assert after["ensemble"]["outcomes"] == before["ensemble"]["outcomes"] + 1
    assert after["predictions"]["resolved"] == before["predictions"]["resolved"] + 1
    again = api.client.post(
        "/v1/outcomes", json={"prediction_id": pid, "realized_return": 0.03}, headers=api.auth
    )
    assert again.status_code == 409 and "already resolved" in again.json()["detail"]
    unknown = {"prediction_id": "f" * 32, "realized_return": 0.01}
    r = api.client.post("/v1/outcomes", json=unknown, headers=api.auth)
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "prediction_id"


def test_pending_prediction_resolves_when_candles_reach_horizon(api, real_candles):
    ltc = real_candles("LTCUSDT").slice(4000, 320)
    url = "/v1/candles/LTCUSDT"
    r = api.client.post(url, json={"candles": candles_json(ltc.head(300))}, headers=api.auth)
    assert r.status_code == 201
    pid = api.signal("LTCUSDT").json()["prediction_id"]
    r = api.client.post(url, json={"candles": candles_json(ltc.slice(300, 3))}, headers=api.auth)
    assert r.json()["resolved"] == []  # 3 of the 4 horizon bars
    r = api.client.post(url, json={"candles": candles_json(ltc.slice(303, 1))}, headers=api.auth)
    assert r.json()["resolved"] == [pid]
    perf = api.client.get("/v1/performance/LTCUSDT").json()
    assert perf["predictions"] == {"pending": 0, "resolved": 1}
    realized = math.log(ltc["close"][303] / ltc["close"][299])
    # resolving the same prediction by hand now conflicts: it already has its outcome
    r = api.client.post(
        "/v1/outcomes", json={"prediction_id": pid, "realized_return": realized}, headers=api.auth
    )
    assert r.status_code == 409


@pytest.mark.parametrize(
    ("method", "url", "payload"),
    [
        ("post", "/v1/candles/LINKUSDT", {"candles": []}),
        ("post", "/v1/outcomes", {"prediction_id": "a" * 32, "realized_return": 0.0}),
        ("post", "/v1/models/reload", None),
    ],
)
def test_write_endpoints_need_the_key(api, method, url, payload):
    call = getattr(api.client, method)
    r = call(url, json=payload)
    assert r.status_code == 401 and r.headers.get("www-authenticate") == "Bearer"
    r = call(url, json=payload, headers={"Authorization": "Bearer wrong-key"})
    assert r.status_code == 403 and api.key not in r.text
    r = call(url, json=payload, headers=api.auth)
    assert r.status_code not in (401, 403)


def test_reads_and_predictions_are_open(api):
    assert api.client.get("/v1/models").status_code == 200
    assert api.client.get("/v1/performance/BTCUSDT").status_code == 200
    assert api.client.get("/healthz").status_code == 200
