"""Bad input is a 4xx that names the field and the reason, never a 500."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import polars as pl
import pytest

from tests.deployments.conftest import MAX_BODY, MAX_CANDLES, candles_json

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def good(btc: pl.DataFrame) -> list[dict]:
    return candles_json(btc.slice(12000, 240))


def _later(candle: dict, minutes: int) -> str:
    return (datetime.fromisoformat(candle["timestamp"]) + timedelta(minutes=minutes)).isoformat()


def _edit(candles: list[dict], row: int, **changes) -> list[dict]:
    out = [dict(c) for c in candles]
    out[row].update(changes)
    return out


JSON = {"content-type": "application/json"}


def _check(r, status: int, field: str, words: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    fields = [e["field"] for e in body["errors"]]
    assert field in fields, body
    assert words.lower() in body["detail"].lower(), body
    assert "Traceback" not in r.text


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda c: {"symbol": "BTCUSDT", "candles": c, "extra": 1}, "extra", "not permitted"),
        (lambda c: {"symbol": "btc-usdt", "candles": c}, "symbol", "pattern"),
        (lambda c: {"symbol": "B" * 21, "candles": c}, "symbol", "pattern"),
        (lambda c: {"candles": c}, "symbol", "required"),
        (lambda c: {"symbol": "BTCUSDT", "candles": _edit(c, 5, close="1.0")}, "candles[5].close",
         "valid number"),
        (lambda c: {"symbol": "BTCUSDT", "candles": _edit(c, 5, open=0)}, "candles[5].open",
         "greater than 0"),
        (lambda c: {"symbol": "BTCUSDT", "candles": _edit(c, 5, low=-3.0)}, "candles[5].low",
         "greater than 0"),
        (lambda c: {"symbol": "BTCUSDT", "candles": _edit(c, 7, high=1.0)}, "candles[7].high",
         "below"),
        (lambda c: {"symbol": "BTCUSDT", "candles": _edit(c, 2, volume=-1)}, "candles[2].volume",
         "greater than or equal"),
        (lambda c: {"symbol": "BTCUSDT", "candles": _edit(c, 4, bogus=1)}, "candles[4].bogus",
         "not permitted"),
        (lambda c: {"symbol": "BTCUSDT", "candles": _edit(c, 4, timestamp="yesterday")},
         "candles[4].timestamp", "datetime"),
        (lambda c: {"symbol": "BTCUSDT", "candles": _edit(c, 9, timestamp=c[3]["timestamp"])},
         "candles[9].timestamp", "earlier"),
        (lambda c: {"symbol": "BTCUSDT", "candles": _edit(c, 9, timestamp=c[8]["timestamp"])},
         "candles[9].timestamp", "duplicate"),
        (lambda c: {"symbol": "BTCUSDT", "candles": _edit(c, 10, timestamp=_later(c[9], 30))},
         "candles[10].timestamp", "30m apart"),  # off the symbol's 1h clock
        (lambda c: {"symbol": "BTCUSDT", "candles": _edit(c, 239, timestamp="2099-01-01T00:00Z")},
         "candles[239].timestamp", "in the future"),
        (lambda c: {"symbol": "BTCUSDT", "candles": c[:100]}, "candles", "at least 229"),
        (lambda c: {"symbol": "BTCUSDT", "candles": []}, "candles", "at least 1"),
        (lambda c: {"symbol": "BTCUSDT", "candles": "many"}, "candles", "valid list"),
    ],
)  # fmt: skip
def test_predict_rejects_bad_input(api, good, change, field, words):
    _check(api.client.post("/v1/predict", json=change(good)), 422, field, words)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_rejected(api, good, literal):
    text = json.dumps({"symbol": "BTCUSDT", "candles": good}).replace(
        f'"close": {good[3]["close"]}', f'"close": {literal}', 1
    )
    assert literal in text
    r = api.client.post("/v1/predict", content=text, headers=JSON)
    _check(r, 422, "candles[3].close", "finite")


def test_too_many_candles_and_oversize_body(api, btc):
    many = candles_json(btc.slice(0, MAX_CANDLES + 1))
    r = api.client.post("/v1/predict", json={"symbol": "BTCUSDT", "candles": many})
    _check(r, 422, "candles", f"at most {MAX_CANDLES}")
    padding = " " * (MAX_BODY + 10)
    text = '{"symbol": "BTCUSDT", "candles": []' + padding + "}"
    r = api.client.post("/v1/predict", content=text, headers=JSON)
    _check(r, 413, "body", f"over {MAX_BODY} bytes")


def test_malformed_json_and_other_endpoints(api):
    r = api.client.post("/v1/predict", content=b"{not json", headers=JSON)
    assert r.status_code == 422 and "json" in r.text.lower()
    _check(api.client.get("/v1/candles/btc"), 422, "symbol", "pattern")
    _check(api.client.get("/v1/candles/BTCUSDT", params={"limit": 0}), 422, "limit", "greater")
    bad_id = {"prediction_id": "../etc", "realized_return": 0.1}
    _check(api.client.post("/v1/outcomes", json=bad_id, headers=api.auth), 422, "prediction_id",
           "pattern")  # fmt: skip
    text = '{"prediction_id": "' + "a" * 32 + '", "realized_return": NaN}'
    r = api.client.post("/v1/outcomes", content=text, headers={**api.auth, **JSON})
    _check(r, 422, "realized_return", "finite")
    enhanced = {"symbol": "BTCUSDT", "features": {"open": 1, "high": 1, "low": 1, "close": 1}}
    r = api.client.post("/enhanced/predict", json=enhanced, headers=api.auth)  # a keyed write
    _check(r, 422, "features.volume", "required")
    enhanced["features"] |= {"volume": 1, "vwap": 2}
    r = api.client.post("/enhanced/predict", json=enhanced, headers=api.auth)
    _check(r, 422, "features.vwap", "permitted")
    assert api.client.get("/v1/nothing").status_code == 404


def test_symbol_outside_the_allow_list_is_unknown(api, good):
    r = api.client.post("/v1/predict", json={"symbol": "DOGEUSD", "candles": good})
    _check(r, 404, "symbol", "unknown symbol DOGEUSD")
    _check(api.client.get("/v1/performance/DOGEUSD"), 404, "symbol", "unknown symbol")
