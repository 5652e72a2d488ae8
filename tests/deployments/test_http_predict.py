"""Predictions over real HTTP against the running Serve app."""

from __future__ import annotations

import polars as pl
import pytest

from models.ensemble import Ensemble
from models.serving.inprocess import InProcessEnsemble
from models.store import StateStore
from tests.deployments.conftest import MODEL_SYMBOL, candles_json

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_predict_with_trained_models_matches_in_process(api, trained, btc):
    frame = btc.slice(9000, 300)
    r = api.predict(MODEL_SYMBOL, frame)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["symbol"] == MODEL_SYMBOL and len(body["prediction_id"]) == 32
    assert body["as_of"].startswith(frame["timestamp"][-1].strftime("%Y-%m-%dT%H:%M:%S"))
    assert body["horizon_bars"] == 4 and body["latency_ms"] > 0
    timings = body["timings_ms"]
    assert timings["batch_size"] >= 1 and {"features", "predictors", "store"} <= set(timings)
    assert {"call:smc", "call:regime", f"call:transformer:{MODEL_SYMBOL}"} <= set(timings)
    assert body["signal"] in ("STRONG_BUY", "BUY", "HOLD", "SELL", "STRONG_SELL")
    assert not body["degraded"] and body["no_model"] == ["lgbm"]  # the fixture has no tree
    for name in ("transformer", "cnn_lstm"):
        assert body["models"][name]["status"] == "ok"
        assert body["models"][name]["version"] == trained.versions(name)[-1]
    # the same pipeline in this process, same registry, the learned state the service holds
    learned, _ = StateStore(api.settings.state_db, read_only=True).load_state("ensemble")
    reference = Ensemble()
    if learned is not None:
        reference.load_state_dict(learned)
    ref = InProcessEnsemble(str(trained.root), reference).predict_many([(MODEL_SYMBOL, frame)])
    expected = ref[0].body
    for name, entry in expected["models"].items():
        got = body["models"][name]
        assert got["status"] == entry["status"]
        assert got["probabilities"] == pytest.approx(entry["probabilities"], abs=1e-9)
        assert got["weight"] == pytest.approx(entry["weight"], abs=1e-12)
    assert body["regime"] == pytest.approx(expected["regime"])
    assert body["probabilities"] == pytest.approx(expected["probabilities"], abs=1e-9)
    assert (body["signal"], body["quality"]) == (expected["signal"], expected["quality"])


def test_symbol_without_model_gets_rule_based_signal(api, real_candles):
    frame = real_candles("ETHUSDT").slice(5000, 260)
    stored_before = api.client.get("/v1/performance/ETHUSDT").json()["predictions"]
    r = api.predict("ETHUSDT", frame)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["no_model"] == ["cnn_lstm", "lgbm", "transformer"]
    assert body["models"]["transformer"]["status"] == "no_model"
    assert body["models"]["indicators"]["status"] == "ok" and body["models"]["smc"]["weight"] == 0
    # nothing learned and no combiner published for ETHUSDT: the base rate, and reasons why
    assert any(r.startswith("smc is left out: warming up") for r in body["reasons"])
    assert body["degraded"] is False and body["regime"] is not None
    assert body["source"] == "request"  # on the client's candles: answered, never stored
    perf = api.client.get("/v1/performance/ETHUSDT").json()
    assert perf["predictions"] == stored_before


def test_concurrent_requests_all_answer(api, real_candles):
    import concurrent.futures as cf

    frames = [real_candles("BNBUSDT").slice(3000 + 7 * i, 240) for i in range(12)]

    def post(frame: pl.DataFrame) -> dict:
        r = api.predict("BNBUSDT", frame)
        assert r.status_code == 200, r.text
        return r.json()

    with cf.ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(post, frames))
    assert len({b["prediction_id"] for b in bodies}) == 12
    as_of = [b["as_of"][:19] for b in bodies]
    assert as_of == [f["timestamp"][-1].strftime("%Y-%m-%dT%H:%M:%S") for f in frames]


def _bar(frame: pl.DataFrame, row: int, with_time: bool) -> dict:
    bar = {k: frame[k][row] for k in ("open", "high", "low", "close", "volume")}
    return {**bar, "timestamp": frame["timestamp"][row].isoformat()} if with_time else bar


def test_enhanced_predict_needs_history_then_answers(api, real_candles):
    sol = real_candles("SOLUSDT").slice(6000, 300)
    body = {"symbol": "SOLUSDT", "features": _bar(sol, 0, True)}
    assert api.client.post("/enhanced/predict", json=body).status_code == 401  # it appends
    first = api.client.post("/enhanced/predict", json=body, headers=api.auth)
    assert first.status_code == 409
    assert "POST /v1/candles/SOLUSDT" in first.json()["detail"] and "229" in first.json()["detail"]
    assert api.client.get("/v1/candles/SOLUSDT").json()["count"] == 1  # that bar was stored
    more = {"candles": candles_json(sol.slice(1, 240))}
    r = api.client.post("/v1/candles/SOLUSDT", json=more, headers=api.auth)
    assert r.status_code == 201, r.text
    request = {"symbol": "SOLUSDT", "features": _bar(sol, 241, False), "sequence_length": 60}
    r = api.client.post("/enhanced/predict", json=request, headers=api.auth)
    assert r.status_code == 200, r.text
    body = r.json()
    original = {
        "symbol", "prediction", "confidence", "signal_valid", "quality_score", "recommendation",
        "market_regime", "regime_strength", "model_predictions", "confidence_breakdown",
        "prediction_time", "enhanced",
    }  # fmt: skip
    assert original <= set(body) and body["enhanced"] is True and -1 <= body["prediction"] <= 1
    assert body["model_predictions"]["transformer"] is None
    stored = api.client.get("/v1/candles/SOLUSDT", params={"limit": 300}).json()
    assert stored["count"] == 242
    assert stored["candles"][-1]["timestamp"][:19] == sol["timestamp"][241].strftime(
        "%Y-%m-%dT%H:%M:%S"
    )  # no timestamp given: one step (1 h) after the last stored bar
    assert stored["candles"][-1]["close"] == sol["close"][241]
    again = api.signal("SOLUSDT").json()  # the bar's signal was stored: served again
    assert again["prediction_id"] == body["prediction_id"] and again["source"] == "stored"


def test_healthz_reports_every_deployment(api):
    r = api.client.get("/healthz")
    assert r.status_code == 200
    assert set(r.json()["deployments"]) == {
        "ensemble", "state", "transformer", "cnn_lstm", "indicators", "smc", "lgbm", "regime",
        "retrainer",
    }  # fmt: skip
    assert api.client.get("/docs").status_code == 200
    assert "/v1/predict" in api.client.get("/openapi.json").json()["paths"]
