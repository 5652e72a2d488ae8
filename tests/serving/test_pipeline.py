"""Pipeline pieces without Ray: assembling answers, deadlines, replies, the compat shape."""

from __future__ import annotations

import asyncio
import math
import random

import polars as pl
import pytest

from deployments.compat import enhanced_body
from models.ensemble import Ensemble
from models.features.indicators import INDICATOR_COLUMNS
from models.labels import LabelConfig, flat_band
from models.predictors.base import Prediction
from models.predictors.registry import predictor_entry
from models.regime.detector import RegimeDetector
from models.serving.inprocess import InProcessEnsemble
from models.serving.pipeline import assemble, prepare_window, required_bars
from models.serving.remote import gather_with_deadline, unwrap
from models.serving.replies import NO_MODEL, TIMEOUT, Reply, each_window, error_status


def _pred(model: str, probs: tuple[float, float, float]) -> Reply:
    return Reply("ok", Prediction(model, probs, confidence=0.5), version=None)


@pytest.fixture(scope="module")
def window(btc: pl.DataFrame) -> pl.DataFrame:
    return prepare_window(btc.slice(3000, 600), 512)


def test_prepare_window_computes_indicators_on_everything_sent(btc, window):
    assert window.height == 512 and all(c in window.columns for c in INDICATOR_COLUMNS)
    # warm-up used the whole request: the first kept row already has every indicator
    first = window.select(INDICATOR_COLUMNS).row(0)
    assert all(v is not None and not math.isnan(v) for v in first)
    assert window["timestamp"][-1] == btc["timestamp"][3599]


def _warmed(names: tuple[str, ...]) -> Ensemble:
    """An ensemble that has learned enough outcomes of these members to use their scores
    (each leans a random way; the return follows the members' mean lean)."""
    ensemble = Ensemble()
    rng = random.Random(0)
    for bar in range(200):
        leans = {n: rng.uniform(-0.2, 0.2) for n in names}
        preds = {n: Prediction(n, (0.35 - v, 0.3, 0.35 + v), 0.5) for n, v in leans.items()}
        signal = ensemble.combine("BTCUSDT", preds, None, bar)
        ensemble.record_outcome(signal.to_record(0.01), 0.05 * sum(leans.values()))
    return ensemble


def test_assemble_answer_record_and_degraded_flags(window):
    regime = Reply("ok", RegimeDetector().current(window))
    replies = {
        "indicators": _pred("indicators", (0.2, 0.3, 0.5)),
        "smc": Reply(TIMEOUT, detail="late"),
        "transformer": Reply(NO_MODEL),
        "cnn_lstm": _pred("cnn_lstm", (0.1, 0.3, 0.6)),
    }
    cold = assemble(Ensemble(), "BTCUSDT", window, replies, regime, LabelConfig(), "z" * 32)
    assert cold.body["quality"] == "POOR"  # no member's score is usable yet: the base rate
    assert any("warming up" in r for r in cold.body["reasons"])
    warmed = _warmed(("indicators", "smc", "cnn_lstm"))
    answer = assemble(warmed, "BTCUSDT", window, replies, regime, LabelConfig(), "a" * 32)
    body = answer.body
    assert body["degraded"] is True and body["unavailable"] == {"smc": "timeout"}
    assert body["no_model"] == ["transformer"]
    assert body["models"]["transformer"]["status"] == "no_model"
    assert body["models"]["smc"]["weight"] == 0.0
    assert body["models"]["cnn_lstm"]["weight"] > 0
    assert math.isclose(sum(body["probabilities"].values()), 1.0)
    assert body["regime"]["name"] == regime.value.name
    stored = answer.stored
    assert stored.entry_close == window["close"][-1]
    assert stored.record["flat_band"] == flat_band(window, LabelConfig())
    assert stored.record["model_directions"] == {"indicators": 1, "cnn_lstm": 1}
    # nothing unavailable: not degraded even though a neural model does not exist
    replies["smc"] = _pred("smc", (0.3, 0.4, 0.3))
    calm = assemble(warmed, "BTCUSDT", window, replies, regime, LabelConfig(), "b" * 32)
    assert calm.body["degraded"] is False and calm.body["unavailable"] == {}
    # a failed regime detector degrades the answer too
    failed = Reply(error_status(RuntimeError("down")))
    worse = assemble(warmed, "BTCUSDT", window, replies, failed, LabelConfig(), "c" * 32)
    assert worse.body["regime"] is None and worse.body["unavailable"]["regime"].startswith("error")


def test_enhanced_body_maps_the_original_fields(window):
    regime = Reply("ok", RegimeDetector().current(window))
    replies = {m: _pred(m, (0.2, 0.3, 0.5)) for m in ("indicators", "smc")}
    replies |= {m: Reply(NO_MODEL) for m in ("transformer", "cnn_lstm")}
    body = assemble(Ensemble(), "BTCUSDT", window, replies, regime, LabelConfig(), "d" * 32).body
    out = enhanced_body(body)
    probs = body["probabilities"]
    assert out["prediction"] == pytest.approx(probs["up"] - probs["down"])
    assert out["recommendation"] == body["signal"] and out["signal_valid"] == body["actionable"]
    assert out["model_predictions"]["transformer"] is None
    assert out["model_predictions"]["smc"] == pytest.approx(0.3)
    assert out["market_regime"] == body["regime"]["name"] and out["enhanced"] is True


def test_required_bars_covers_every_rule_component():
    assert required_bars() == max(RegimeDetector().min_bars, 62, 36, LabelConfig().vol_window + 1)


def test_each_window_isolates_failures(window):
    replies = each_window(RegimeDetector().current, [window, window.head(10)])
    assert replies[0].ok and replies[1].status == "insufficient_data"


def test_error_status_is_one_short_line():
    status = error_status(ValueError("first line\n  File 'x', line 3\n" + "y" * 500))
    assert status == "error: ValueError: first line"
    assert len(error_status(ValueError("z" * 1000))) < 230


class _Slow:
    def __init__(self, value, delay: float, fail: bool = False) -> None:
        self.value, self.delay, self.fail, self.cancelled = value, delay, fail, False

    def __await__(self):
        return self._run().__await__()

    async def _run(self):
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("broken")
        return self.value

    def cancel(self) -> None:
        self.cancelled = True


def test_gather_with_deadline_keeps_fast_drops_slow_and_failed():
    calls = {"fast": _Slow([1], 0.0), "slow": _Slow([2], 5.0), "bad": _Slow(None, 0.0, True)}
    out = asyncio.run(gather_with_deadline(calls, 0.2))
    assert out["fast"] == [1]
    assert out["slow"].status == TIMEOUT and calls["slow"].cancelled
    assert out["bad"].status == "error: RuntimeError: broken"


def test_unwrap_follows_causes():
    inner = ValueError("inner")

    class Wrapper(Exception):
        cause = inner

    assert unwrap(Wrapper("outer")) is inner and unwrap(inner) is inner


def test_in_process_without_registry_marks_no_model(btc):
    frames = [("BTCUSDT", btc.slice(4000, 300)), ("ETHUSDT", btc.slice(5000, 300))]
    answers = InProcessEnsemble(None).predict_many(frames)
    assert [a.body["symbol"] for a in answers] == ["BTCUSDT", "ETHUSDT"]
    for a in answers:
        assert a.body["no_model"] == ["cnn_lstm", "lgbm", "transformer"]
        assert not a.body["degraded"]
        assert a.body["models"]["indicators"]["status"] == "ok"


def test_answers_are_prefix_causal(btc):
    """The answer at a bar depends only on candles up to it: replaying a prefix gives the
    same answers for its bars (no state carried between requests, no future bar used)."""
    from tests.causality import assert_prefix_causal

    pipeline = InProcessEnsemble(None, window_bars=256)
    first = required_bars()

    def compute(frame: pl.DataFrame) -> pl.DataFrame:
        up, conf = [math.nan] * frame.height, [math.nan] * frame.height
        for end in range(first, frame.height + 1):
            body = pipeline.predict_many([("BTCUSDT", frame.head(end))])[0].body
            up[end - 1], conf[end - 1] = body["probabilities"]["up"], body["confidence"]
        return frame.with_columns(pl.Series("up", up), pl.Series("confidence", conf))

    frame = btc.slice(15000, first + 12)
    assert_prefix_causal(compute, frame, [first + 3, first + 8], ["up", "confidence"])


def test_the_ensemble_calls_every_predictor_and_the_regime_once_costliest_first():
    from deployments.app import PREDICTOR_ROLES
    from models.serving.fanout import call_order

    order = call_order(predictor_entry(n) for n in PREDICTOR_ROLES)  # the served predictors
    assert sorted(order) == sorted({*PREDICTOR_ROLES, "regime"})
    assert len(order) == len(set(order))
    assert order == ("lgbm", "transformer", "smc", "cnn_lstm", "regime", "indicators")
