"""The fan-out plan, Ray-free, over the fake handles: which member gets which windows and
columns, one leader read per batch, the deadline, and that the in-process pipeline and the
handle path run the same plan to the same replies."""

from __future__ import annotations

import asyncio
from typing import Any

import polars as pl
import pytest

from models.features.indicators import INDICATOR_COLUMNS
from models.predictors.leader import LEADER_COLUMNS
from models.predictors.registry import PREDICTORS, predictor_entry
from models.serving.fanout import (
    REGIME,
    FanOutPlan,
    HandleCallers,
    call_order,
    fan_out,
    group_rows,
)
from models.serving.inprocess import InProcessEnsemble
from models.serving.pipeline import leader_cut, prepare_window
from models.serving.replies import INSUFFICIENT, OK, TIMEOUT, Reply
from tests.deployments.fake_handles import Failing, FakeHandle, Slow, fake_graph

SERVED = [e for e in PREDICTORS if e.served]
WINDOW = 512


class Recording:
    """A trained member's deployment that keeps what it was sent."""

    def __init__(self) -> None:
        self.sent: dict[str, list[pl.DataFrame]] = {}

    async def predict(self, symbol: str, windows: list[pl.DataFrame]) -> list[Reply]:
        self.sent.setdefault(symbol, []).extend(windows)
        return [Reply(INSUFFICIENT, detail="recorded") for _ in windows]


def _callers(graph: dict[str, Any], stored: dict[str, pl.DataFrame]) -> HandleCallers:
    reads: list[str] = graph.setdefault("reads", [])

    async def read(leader: str, until: int, limit: int) -> pl.DataFrame | None:
        reads.append(leader)
        return leader_cut(stored[leader], until, limit) if leader in stored else None

    trained = [e.name for e in SERVED if e.trained]
    return HandleCallers(graph["predictors"], trained, graph["regime"], read)


def _batch(requests: list[tuple[str, pl.DataFrame]]) -> tuple[list[str], list, list]:
    longest = max([WINDOW, *(e.window_bars or 0 for e in SERVED)])
    history = [prepare_window(frame, longest) for _, frame in requests]
    return [s for s, _ in requests], [h.tail(WINDOW) for h in history], history


@pytest.fixture(scope="module")
def frames(real_candles) -> dict[str, pl.DataFrame]:
    return {s: real_candles(s).slice(9000, 900) for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT")}


def test_the_plan_calls_rules_once_and_trained_members_once_per_symbol(frames) -> None:
    symbols, windows, history = _batch(
        [
            ("ETHUSDT", frames["ETHUSDT"]),
            ("BTCUSDT", frames["BTCUSDT"]),
            ("ETHUSDT", frames["ETHUSDT"]),
        ]
    )
    plan = FanOutPlan(SERVED)
    calls = plan.calls(symbols, windows, history)
    assert [c.member for c in calls if not c.symbol] == [
        n for n in plan.order if not predictor_entry_or_regime(n).trained
    ]
    trained = {(c.member, c.symbol): c.rows for c in calls if c.symbol}
    for entry in SERVED:
        if entry.trained:
            assert trained[(entry.name, "ETHUSDT")] == (0, 2)
            assert trained[(entry.name, "BTCUSDT")] == (1,)
    lgbm = {c.symbol: c for c in calls if c.member == "lgbm"}
    assert lgbm["ETHUSDT"].leader == "BTCUSDT" and lgbm["BTCUSDT"].leader is None
    assert calls[0].member == "lgbm"  # costliest first
    assert group_rows(["A", "B", "A"]) == {"A": [0, 2], "B": [1]}


def predictor_entry_or_regime(name: str) -> Any:
    class Regime:
        trained = False

    return Regime() if name == REGIME else predictor_entry(name)


def test_each_member_gets_its_bars_and_columns_and_one_leader_read(tmp_path, frames) -> None:
    lgbm = Recording()
    graph = fake_graph(tmp_path, lgbm=lgbm)
    stored = {"BTCUSDT": frames["BTCUSDT"]}
    requests = [("ETHUSDT", frames["ETHUSDT"]), ("SOLUSDT", frames["SOLUSDT"])]
    requests.append(("BTCUSDT", frames["BTCUSDT"]))
    out = asyncio.run(fan_out(FanOutPlan(SERVED), _callers(graph, stored), *_batch(requests), 5.0))
    assert graph["reads"] == ["BTCUSDT"]  # one read for the whole batch
    entry = predictor_entry("lgbm")
    for symbol in ("ETHUSDT", "SOLUSDT"):
        (window,) = lgbm.sent[symbol]
        assert window.height == entry.window_bars
        assert window.columns == [*entry.columns, *LEADER_COLUMNS]  # no indicator columns
    assert lgbm.sent["BTCUSDT"][0].columns == list(entry.columns)  # the leader: no leader_*
    transformer = graph["predictors"]["transformer"].called("predict")[0].args[1][0]
    assert transformer.height == WINDOW and set(INDICATOR_COLUMNS) <= set(transformer.columns)
    assert [r.status for r in out.replies["lgbm"]] == [INSUFFICIENT] * 3
    assert all(r.status == OK for r in out.replies[REGIME])
    assert set(out.call_ms) >= {"call:lgbm:ETHUSDT", "call:regime", "call:smc"}


def test_a_late_or_failing_member_answers_by_status_and_is_cancelled(tmp_path, frames) -> None:
    graph = fake_graph(tmp_path, smc=Slow(), indicators=Failing())
    batch = _batch([("BTCUSDT", frames["BTCUSDT"])])
    out = asyncio.run(fan_out(FanOutPlan(SERVED), _callers(graph, {}), *batch, 0.3))
    assert out.replies["smc"][0].status == TIMEOUT
    assert out.replies["indicators"][0].status == "error: RuntimeError: predictor crashed"
    assert out.results[("indicators", "")].failed
    assert graph["predictors"]["smc"].called("predict")[0].response.cancelled
    assert out.replies["transformer"][0].status == OK


def test_the_in_process_pipeline_runs_the_same_plan(tmp_path, frames) -> None:
    """Rule members and the regime answer the same through handles and in process."""
    requests = [("ETHUSDT", frames["ETHUSDT"]), ("BTCUSDT", frames["BTCUSDT"])]
    graph = fake_graph(tmp_path)
    served = asyncio.run(fan_out(FanOutPlan(SERVED), _callers(graph, {}), *_batch(requests), 5.0))
    local = InProcessEnsemble(None, window_bars=WINDOW)
    here = local._run(fan_out(local.plan, local, *_batch(requests), None))
    for name in (REGIME, *(e.name for e in SERVED if not e.trained)):
        assert [(r.status, r.value) for r in here.replies[name]] == [
            (r.status, r.value) for r in served.replies[name]
        ], name
    assert all(r.status == "no_model" for r in here.replies["lgbm"])
    assert call_order(SERVED) == local.plan.order


def test_a_handle_is_called_with_the_symbol_as_model_id(tmp_path, frames) -> None:
    graph = fake_graph(tmp_path)
    callers = _callers(graph, {})
    asyncio.run(
        fan_out(FanOutPlan(SERVED), callers, *_batch([("SOLUSDT", frames["SOLUSDT"])]), 5.0)
    )
    handle: FakeHandle = graph["predictors"]["cnn_lstm"]
    (call,) = handle.called("predict")
    assert call.options == {"multiplexed_model_id": "SOLUSDT"} and call.args[0] == "SOLUSDT"
