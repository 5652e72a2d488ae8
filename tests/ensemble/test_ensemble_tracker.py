"""AccuracyTracker: exponential decay by half-life and dynamic weights."""

from __future__ import annotations

import pytest

from models.ensemble import AccuracyTracker, Ensemble, TrackingConfig
from models.ensemble.original_config import ORIGINAL_WEIGHTS as DEFAULT_WEIGHTS
from tests.ensemble.helpers import all_models, config


def test_after_half_life_outcomes_an_old_outcome_weighs_half() -> None:
    tracker = AccuracyTracker(TrackingConfig(half_life=10))
    tracker.update("BTCUSDT", "smc", correct=True)
    for _ in range(10):
        tracker.update("BTCUSDT", "smc", correct=False)
    stats = tracker.stats("BTCUSDT", "smc")
    assert stats.correct == pytest.approx(0.5, rel=1e-12)
    lam = 0.5 ** (1 / 10)
    assert stats.total == pytest.approx(sum(lam**k for k in range(11)), rel=1e-12)
    assert stats.accuracy == pytest.approx(0.5 / stats.total)
    assert stats.outcomes == 11


def test_decay_by_hand_with_half_life_one() -> None:
    tracker = AccuracyTracker(TrackingConfig(half_life=1))
    for correct in (True, False, True):
        tracker.update("ETHUSDT", "cnn_lstm", correct)
    stats = tracker.stats("ETHUSDT", "cnn_lstm")
    # correct: 1 -> .5 -> .25 + 1; total: 1 -> 1.5 -> 1.75
    assert (stats.correct, stats.total) == (1.25, 1.75)
    assert stats.accuracy == pytest.approx(1.25 / 1.75)


def test_effective_count_saturates_and_recent_skill_dominates() -> None:
    tracker = AccuracyTracker(TrackingConfig(half_life=5))
    for _ in range(200):
        tracker.update("BTCUSDT", "transformer", correct=False)
    for _ in range(15):
        tracker.update("BTCUSDT", "transformer", correct=True)
    stats = tracker.stats("BTCUSDT", "transformer")
    lam = 0.5 ** (1 / 5)
    assert stats.total == pytest.approx(1 / (1 - lam), rel=1e-9)
    # 15 outcomes = 3 half-lives: the 200 old misses keep only 1/8 of the weight
    assert stats.accuracy == pytest.approx(1 - 0.125, rel=1e-9)


def test_symbols_and_models_are_tracked_apart() -> None:
    tracker = AccuracyTracker(TrackingConfig())
    tracker.update("BTCUSDT", "smc", correct=True)
    assert tracker.stats("ETHUSDT", "smc").accuracy is None
    assert tracker.stats("BTCUSDT", "transformer").outcomes == 0
    assert tracker.models("BTCUSDT") == ("smc",)


def _feed(tracker: AccuracyTracker, model: str, pattern: str) -> None:
    for ch in pattern:
        tracker.update("BTCUSDT", model, ch == "1")


def test_dynamic_weights_switch_on_after_min_outcomes_with_floor() -> None:
    # a half-life far beyond the test keeps accuracies at their plain values
    tracker = AccuracyTracker(TrackingConfig(half_life=1e12, min_outcomes=3, weight_floor=0.05))
    for model, pattern in [("transformer", "11"), ("cnn_lstm", "10"), ("indicators", "10")]:
        _feed(tracker, model, pattern)
    _feed(tracker, "smc", "00")
    weights, dynamic = tracker.weights("BTCUSDT", DEFAULT_WEIGHTS)
    assert not dynamic
    assert weights == pytest.approx(DEFAULT_WEIGHTS)
    _feed(tracker, "transformer", "1")  # 3/3 -> skill 1
    _feed(tracker, "cnn_lstm", "1")  # 2/3 -> skill (2/3 - 1/3) / (2/3) = .5
    _feed(tracker, "indicators", "0")  # 1/3 -> skill 0
    assert not tracker.weights("BTCUSDT", DEFAULT_WEIGHTS)[1]  # smc still has 2 outcomes
    _feed(tracker, "smc", "0")  # 0/3 -> skill 0
    weights, dynamic = tracker.weights("BTCUSDT", DEFAULT_WEIGHTS)
    assert dynamic
    # raw = .4*1, .3*.5, 0, 0 -> normalised .4/.55, .15/.55; floor .05 pins the zeros, the
    # other two share .9
    expected = {
        "transformer": 0.4 / 0.55 * 0.9,
        "cnn_lstm": 0.15 / 0.55 * 0.9,
        "indicators": 0.05,
        "smc": 0.05,
    }
    assert weights == pytest.approx(expected, rel=1e-6)
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-12)


def test_dynamic_weights_renormalise_over_present_models_only() -> None:
    tracker = AccuracyTracker(TrackingConfig(half_life=1e12, min_outcomes=2, weight_floor=0.0))
    _feed(tracker, "transformer", "11")
    _feed(tracker, "smc", "10")  # 1/2 -> skill .25
    weights, dynamic = tracker.weights("BTCUSDT", {"transformer": 0.4, "smc": 0.1})
    assert dynamic
    # base .8 / .2 -> raw .8 and .05 -> .8/.85, .05/.85
    assert weights == pytest.approx({"transformer": 0.8 / 0.85, "smc": 0.05 / 0.85}, rel=1e-6)


def test_static_weights_kept_when_nobody_beats_chance_or_disabled() -> None:
    tracker = AccuracyTracker(TrackingConfig(min_outcomes=1))
    for model in DEFAULT_WEIGHTS:
        _feed(tracker, model, "0")
    weights, dynamic = tracker.weights("BTCUSDT", DEFAULT_WEIGHTS)
    assert not dynamic and weights == pytest.approx(DEFAULT_WEIGHTS)
    off = AccuracyTracker(TrackingConfig(min_outcomes=1, dynamic_weights=False))
    for model in DEFAULT_WEIGHTS:
        _feed(off, model, "1")
    assert off.weights("BTCUSDT", DEFAULT_WEIGHTS) == (pytest.approx(DEFAULT_WEIGHTS), False)


def test_combine_uses_dynamic_weights_from_outcomes() -> None:
    ens = Ensemble(config(tracking={"min_outcomes": 4, "half_life": 20}))
    preds = all_models((0.1, 0.2, 0.7), 0.9)
    preds["smc"] = all_models((0.7, 0.2, 0.1), 0.9)["smc"]
    for _ in range(4):
        record = ens.combine("BTCUSDT", preds).to_record(flat_band=0.001)
        ens.record_outcome(record, 0.02)  # up: smc is always wrong
    sig = ens.combine("BTCUSDT", preds)
    assert sig.weight_mode == "dynamic"
    assert sig.contributions["smc"].weight == pytest.approx(0.05)  # floored
    others = [sig.contributions[m].weight for m in ("transformer", "cnn_lstm", "indicators")]
    assert others == pytest.approx([0.4 / 0.9 * 0.95, 0.3 / 0.9 * 0.95, 0.2 / 0.9 * 0.95])
    assert ens.combine("ETHUSDT", preds).weight_mode == "static"
