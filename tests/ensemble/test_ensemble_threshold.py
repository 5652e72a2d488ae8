"""AdaptiveThreshold: moved by realized wins and losses, bounded, windowed."""

from __future__ import annotations

from models.ensemble import AdaptiveThreshold, AdaptiveThresholdConfig, Ensemble
from tests.ensemble.helpers import all_models, config

CFG = AdaptiveThresholdConfig(
    min_threshold=0.5, max_threshold=0.9, step=0.1, window=20, min_signals=5, target_precision=0.6
)


def _threshold() -> AdaptiveThreshold:
    return AdaptiveThreshold(CFG, default=0.7)


def test_default_until_enough_resolved_signals() -> None:
    thr = _threshold()
    for _ in range(4):
        assert thr.update("BTCUSDT", 0.95, win=True) == 0.7
    assert thr.update("BTCUSDT", 0.95, win=True) == 0.5  # 5 wins above every level
    assert thr.current("ETHUSDT") == 0.7  # per symbol


def test_losing_high_confidence_signals_raise_it_to_the_bound() -> None:
    thr = _threshold()
    for _ in range(10):
        thr.update("BTCUSDT", 0.55, win=True)
    assert thr.current("BTCUSDT") == 0.5
    seen = []
    for _ in range(8):
        seen.append(thr.update("BTCUSDT", 0.85, win=False))
    # level .5 holds while 10 / (10 + k) >= .6, i.e. up to k = 6 losses; levels .6-.8 only
    # hold the losses (precision 0) and .9 holds nothing, so the bound is what is left
    assert seen == [0.5] * 6 + [0.9, 0.9]
    assert seen == sorted(seen)


def test_settles_on_the_lowest_level_that_reached_the_target() -> None:
    thr = _threshold()
    for _ in range(6):
        thr.update("BTCUSDT", 0.55, win=False)
        thr.update("BTCUSDT", 0.75, win=True)
    # level .5: 6 / 12 = .5 < .6; level .6: 6 wins of 6 -> .6
    assert thr.current("BTCUSDT") == 0.6
    assert thr.precision_at("BTCUSDT", 0.6) == (6, 1.0)


def test_same_scores_different_outcomes_give_different_thresholds() -> None:
    winners, losers = _threshold(), _threshold()
    for conf in (0.55, 0.65, 0.75, 0.85, 0.95) * 2:
        winners.update("BTCUSDT", conf, win=True)
        losers.update("BTCUSDT", conf, win=False)
    assert winners.current("BTCUSDT") == 0.5
    assert losers.current("BTCUSDT") == 0.9


def test_window_forgets_old_signals() -> None:
    thr = _threshold()
    for _ in range(20):
        thr.update("BTCUSDT", 0.95, win=False)
    assert thr.current("BTCUSDT") == 0.9
    for _ in range(20):
        thr.update("BTCUSDT", 0.55, win=True)
    assert len(thr.history("BTCUSDT")) == 20
    assert thr.current("BTCUSDT") == 0.5


def test_disabled_keeps_the_default() -> None:
    thr = AdaptiveThreshold(CFG.model_copy(update={"enabled": False}), default=0.7)
    for _ in range(30):
        thr.update("BTCUSDT", 0.95, win=False)
    assert thr.current("BTCUSDT") == 0.7


def test_ensemble_stops_acting_after_losses_and_ignores_non_candidates() -> None:
    cfg = config(adaptive_threshold={"window": 20, "min_signals": 5, "target_precision": 0.6})
    ens = Ensemble(cfg)
    preds = all_models((0.1, 0.15, 0.75), 0.9)
    assert ens.combine("BTCUSDT", preds).actionable
    hold = ens.combine("BTCUSDT", all_models((0.1, 0.8, 0.1))).to_record(flat_band=0.001)
    for _ in range(10):
        change = ens.record_outcome(hold, -0.05)
        assert change["threshold"] is None  # no direction: not a candidate
    before = ens.combiner.threshold.current("BTCUSDT")
    for _ in range(5):
        change = ens.record_outcome(ens.combine("BTCUSDT", preds).to_record(0.001), -0.05)
        assert change["threshold"]["win"] is False
    assert before == 0.7 and change["threshold"]["after"] == 0.9
    sig = ens.combine("BTCUSDT", preds)
    assert not sig.actionable and sig.threshold == 0.9 and sig.eligible
    assert ens.combine("ETHUSDT", preds).actionable
