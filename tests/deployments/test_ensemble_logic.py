"""The ensemble deployment's logic with fake handles: fan-out, per-symbol calls, deadline,
failures as statuses, state writes. No Ray: the real rule predictors, regime detector and
state run in this process behind :class:`FakeHandle`; trained predictors are stand-ins."""

from __future__ import annotations

import asyncio
from typing import Any

import polars as pl
import pytest

from deployments.ensemble import EnsembleDeployment, call_budget
from models.predictors.leader import LEADER_COLUMNS, attach_leader
from models.predictors.registry import predictor_entry, predictor_names, trained_names
from models.serving.fanout import call_order
from models.serving.replies import INSUFFICIENT, Reply
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
    assert tuple(fan_out) == call_order(predictor_entry(n) for n in predictor_names())
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
        sent = [(c.args[0], len(c.args[1])) for c in calls]  # a call waiting for the
        # leader's candles (lgbm, ETHUSDT) leaves after the others of its batch
        assert sent[0] == ("BTCUSDT", 1)
        assert sorted(sent[1:]) == [("BTCUSDT", 1), ("ETHUSDT", 1)]
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


class Recording:
    """A trained predictor's deployment that keeps the windows it was sent."""

    def __init__(self) -> None:
        self.sent: dict[str, list[pl.DataFrame]] = {}

    async def predict(self, symbol: str, windows: list[pl.DataFrame]) -> list[Any]:
        self.sent.setdefault(symbol, []).extend(windows)
        return [Reply(INSUFFICIENT, detail="recorded") for _ in windows]


def test_a_predictor_gets_its_window_length_and_the_leaders_candles(tmp_path, btc, real_candles):
    """lgbm's registry entry asks for 720 bars and BTCUSDT's candles: the ensemble sends it
    longer windows with the stored leader candles attached (one state read per batch, as of
    each window's bars, also for a window from the past), and the others the app's 512."""
    entry = predictor_entry("lgbm")
    lgbm = Recording()
    graph = fake_graph(tmp_path, lgbm=lgbm)
    state = graph["state"].target.state
    state.append_candles("BTCUSDT", btc.slice(8000, 3000))
    eth = real_candles("ETHUSDT")
    live, past = eth.slice(10100, 900), eth.slice(9000, 900)  # ends at the stored newest bar
    ens = ensemble(graph)
    ens.reconfigure({"max_concurrent_batches": 1})
    requests = [("ETHUSDT", live), ("ETHUSDT", past), ("BTCUSDT", btc.slice(10100, 900))]
    bodies = asyncio.run(_predict_together(ens, requests))
    assert all(b["models"]["lgbm"]["status"] == INSUFFICIENT for b in bodies)
    sent = lgbm.sent["ETHUSDT"]
    assert [w.height for w in sent] == [entry.window_bars] * 2
    for window, frame in zip(sent, (live, past), strict=True):
        expected = attach_leader(frame.tail(entry.window_bars), btc)
        assert window.select(expected.columns).equals(expected)
    assert not set(LEADER_COLUMNS) & set(lgbm.sent["BTCUSDT"][0].columns)  # its own leader
    reads = graph["state"].called("candles")
    assert [c.args[0] for c in reads] == ["BTCUSDT", "BTCUSDT"]  # batch 1, then batch 2
    (transformer, *_) = graph["predictors"]["transformer"].called("predict")
    assert transformer.args[1][0].height == 512
    assert not set(LEADER_COLUMNS) & set(transformer.args[1][0].columns)


def test_without_stored_leader_candles_lgbm_windows_go_as_they_are(tmp_path, real_candles):
    lgbm = Recording()
    graph = fake_graph(tmp_path, lgbm=lgbm)
    eth = real_candles("ETHUSDT").slice(9000, 800)
    (body,) = asyncio.run(_predict_together(ensemble(graph), [("ETHUSDT", eth)]))
    (window,) = lgbm.sent["ETHUSDT"]
    assert window.height == 720 and not set(LEADER_COLUMNS) & set(window.columns)
    assert body["models"]["lgbm"]["status"] == INSUFFICIENT and not body["degraded"]


def _member_answers(body: dict[str, Any]) -> dict[str, Any]:
    return {n: (m["status"], m["probabilities"]) for n, m in body["models"].items()}


def test_a_batch_too_large_for_one_message_goes_in_parts_with_the_same_answers(tmp_path, btc):
    """Ray Serve's replicas refuse a request over 4 MiB: a batch whose frames exceed the
    ensemble's per-call budget reaches each predictor as several calls, in order."""
    requests = [("BTCUSDT", btc.slice(12000 + i, 300)) for i in range(4)]

    def run(budget: int | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        folder = tmp_path / f"budget-{budget}"
        folder.mkdir()
        graph = fake_graph(folder)
        ens = ensemble(graph)
        ens.reconfigure({"max_concurrent_batches": 1})
        if budget is not None:
            ens.call_bytes = budget

        # one batch slot: the first request goes alone, the three behind it as one batch
        return asyncio.run(_predict_together(ens, requests)), graph

    whole, graph = run(None)
    assert [len(c.args[-1]) for c in graph["predictors"]["smc"].called("predict")] == [1, 3]
    parts, graph = run(1)  # every frame is over one byte: one window per call
    for name in ("transformer", "smc"):
        calls = graph["predictors"][name].called("predict")
        sizes = [len(c.args[-1]) for c in calls]
        assert sizes == [1, 1, 1, 1], name
    assert [len(c.args[0]) for c in graph["regime"].called("current")] == [1, 1, 1, 1]
    assert [_member_answers(b) for b in parts] == [_member_answers(b) for b in whole]


def test_the_call_budget_is_nine_tenths_of_what_a_replica_accepts(monkeypatch) -> None:
    monkeypatch.delenv("RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH", raising=False)
    assert call_budget() == 3_774_873  # of Ray Serve's default 4 MiB
    monkeypatch.setenv("RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH", "10000000")
    assert call_budget() == 9_000_000
    monkeypatch.setenv("RAY_SERVE_REPLICA_GRPC_MAX_MESSAGE_LENGTH", "lots")
    assert call_budget() == 3_774_873
