"""The fifth member over real HTTP: lgbm gets 720 bars and the leader's stored candles."""

from __future__ import annotations

import polars as pl
import pytest

from models.predictors.leader import attach_leader
from models.predictors.lgbm import LgbmPredictor
from models.predictors.tree_features import WINDOW_BARS
from models.registry import ModelRegistry
from tests.deployments.conftest import candles_json
from tests.predictors.tiny_trees import publish_tiny_lgbm

pytestmark = [pytest.mark.ray, pytest.mark.slow]

SYMBOL = "XRPUSDT"


def test_lgbm_answers_once_the_leaders_candles_are_stored(api, trained, btc, real_candles):
    xrp = real_candles(SYMBOL)
    version = publish_tiny_lgbm(trained.root, SYMBOL, xrp.slice(6800, 3200), leader=btc)
    frame = xrp.slice(21000, 800)  # a period no other test stores BTCUSDT candles for
    body = api.predict(SYMBOL, frame).json()
    lgbm = body["models"]["lgbm"]
    assert lgbm["status"] == "insufficient_data" and lgbm["weight"] == 0.0
    assert not body["degraded"] and "lgbm" not in body["unavailable"]  # it sleeps, no error

    first, last = frame["timestamp"][0], frame["timestamp"][-1]
    leader = btc.filter(pl.col("timestamp").is_between(first, last))
    stored = api.client.post(
        "/v1/candles/BTCUSDT", json={"candles": candles_json(leader)}, headers=api.auth
    )
    assert stored.status_code == 201, stored.text
    body = api.predict(SYMBOL, frame).json()
    lgbm = body["models"]["lgbm"]
    assert lgbm["status"] == "ok" and lgbm["version"] == version
    expected = LgbmPredictor.from_artifact(ModelRegistry(trained.root).load(SYMBOL, "lgbm"))
    want = expected.predict(attach_leader(frame.tail(WINDOW_BARS), leader)).probabilities
    assert tuple(lgbm["probabilities"].values()) == pytest.approx(want, abs=1e-12)
    assert "lgbm" in body["experts"] and not body["degraded"]
    short = api.predict(SYMBOL, frame.tail(500)).json()["models"]["lgbm"]  # < 720 bars sent
    assert short["status"] == "insufficient_data"
