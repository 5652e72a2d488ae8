"""The ensemble deployment's logic with fake handles: fan-out, per-symbol calls, deadline,
failures as statuses, state writes. No Ray: the real rule predictors, regime detector and
state run in this process behind :class:`FakeHandle`; trained predictors are stand-ins."""

from __future__ import annotations

import asyncio
from typing import Any

import polars as pl
import pytest

from deployments.ensemble import EnsembleDeployment, call_order
from models.predictors.registry import predictor_names, trained_names
from tests.deployments.fake_handles import Failing, Slow, fake_graph


def ensemble(graph: dict[str, Any]) -> Any:
    cls = EnsembleDeployment.func_or_class
    return cls(graph["predictors"], graph["regime"], graph["state"], graph["settings"])


async def _predict_together(ens: Any, requests: list[tuple[str, pl.DataFrame]]) -> list[Any]:
    return await asyncio.gather(*(ens.predict(s, f) for s, f in requests))


@pytest.fixture(scope="module")
def window(btc: pl.DataFrame) -> pl.DataFrame:
    return btc.slice(12000, 300)


def test_every_predictor_is_called_costliest_first_and_answers(tmp_path, window):
    graph = fake_graph(tmp_path)
    (body,) = asyncio.run(_predict_together(ensemble(graph), [("BTCUSDT", window)]))
    assert set(body["models"]) == set(predictor_names())
    assert all(m["status"] == "ok" for m in body["models"].values())
    assert not body["unavailable"] and body["signal"] in {"BUY", "SELL", "HOLD"}
    assert body["models"]["transformer"]["version"] == "v-BTCUSDT"
    fan_out = [n for n in graph["journal"] if n not in ("state",)]
    assert tuple(fan_out) == call_order(predictor_names())
    stored = graph["state"].target.state.store
    assert stored.prediction(body["prediction_id"]) is not None


def test_trained_predictors_get_one_call_per_symbol_with_its_model_id(tmp_path, window):
    graph = fake_graph(tmp_path)
    ens = ensemble(graph)
    ens.reconfigure({"max_concurrent_batches": 1})
    requests = [("BTCUSDT", window), ("ETHUSDT", window), ("BTCUSDT", window.head(299))]
    bodies = asyncio.run(_predict_together(ens, requests))
    assert [b["symbol"] for b in bodies] == ["BTCUSDT", "ETHUSDT", "BTCUSDT"]
    for name in trained_names():
        calls = graph["predictors"][name].called("predict")
        assert all(c.options == {"multiplexed_model_id": c.args[0]} for c in calls)
        # batch 1: the first request alone; batch 2: the two that waited, one call per symbol
        sent = [(c.args[0], len(c.args[1])) for c in calls]
        assert sent == [("BTCUSDT", 1), ("ETHUSDT", 1), ("BTCUSDT", 1)]
    for name in predictor_names("rule"):
        calls = graph["predictors"][name].called("predict")
        assert [len(c.args[0]) for c in calls] == [1, 2]
    assert bodies[1]["models"]["cnn_lstm"]["version"] == "v-ETHUSDT"


def test_failed_and_late_predictors_degrade_the_answer_by_status(tmp_path, window):
    slow = Slow()
    graph = fake_graph(tmp_path, deadline_s=0.3, indicators=Failing(), smc=slow)
    (body,) = asyncio.run(_predict_together(ensemble(graph), [("BTCUSDT", window)]))
    assert body["degraded"] is True
    assert body["unavailable"] == {
        "indicators": "error: RuntimeError: predictor crashed",
        "smc": "timeout",
    }
    assert body["models"]["smc"]["weight"] == 0.0
    (late,) = graph["predictors"]["smc"].called("predict")
    assert late.response.cancelled  # the late call is cancelled, not left running


def test_a_newer_learned_version_asked_for_is_fetched_first(tmp_path, window):
    graph = fake_graph(tmp_path)
    ens = ensemble(graph)

    async def run() -> None:
        await ens.predict("BTCUSDT", window, False)
        fetched = len(graph["state"].called("tracker_state"))
        await ens.predict("BTCUSDT", window, False, 0)
        assert len(graph["state"].called("tracker_state")) == fetched  # nothing newer asked
        await ens.predict("BTCUSDT", window, False, 10**9)
        assert len(graph["state"].called("tracker_state")) == fetched + 1

    asyncio.run(run())
    assert not graph["state"].called("add_predictions")  # store=False: nothing written
