"""Invariants over arbitrary inputs (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.ensemble import QUALITIES, SIGNALS, AccuracyTracker, Ensemble, TrackingConfig
from models.ensemble.original_config import ORIGINAL_WEIGHTS as DEFAULT_WEIGHTS
from models.ensemble.threshold import AdaptiveThreshold
from models.ensemble.voting import apply_floor
from models.predictors.base import Prediction
from models.regime.state import REGIMES, RegimeState
from tests.ensemble.helpers import MODELS, config

unit = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def predictions(draw: st.DrawFn) -> Prediction:
    raw = [draw(st.floats(0.0, 1.0)) for _ in range(3)]
    if sum(raw) == 0:
        raw = [1.0, 1.0, 1.0]
    total = sum(raw)
    probs = (raw[0] / total, raw[1] / total, raw[2] / total)
    return Prediction("m", probs, draw(unit))


inputs = st.one_of(
    predictions(),
    st.none(),
    st.builds(RuntimeError, st.text(max_size=10)),
)
regimes = st.one_of(st.none(), st.sampled_from(REGIMES).map(lambda r: RegimeState(r, 0.5, 0.1)))


@settings(max_examples=150, deadline=None)
@given(
    preds=st.fixed_dictionaries({m: inputs for m in MODELS}),
    regime=regimes,
    method=st.sampled_from(["weighted", "confidence_weighted", "majority"]),
    min_models=st.integers(1, 4),
)
def test_signal_invariants(preds: dict, regime: RegimeState | None, method: str, min_models: int):
    sig = Ensemble(config(voting_method=method, min_models=min_models)).combine(
        "BTCUSDT", preds, regime
    )
    assert sum(sig.probabilities) == pytest.approx(1.0, abs=1e-9)
    assert all(0.0 <= p <= 1.0 for p in sig.probabilities)
    assert 0.0 <= sig.confidence <= 1.0
    assert 0.0 <= sig.coverage <= 1.0 + 1e-12 and 0.0 <= sig.agreement <= 1.0 + 1e-12
    assert sig.signal in SIGNALS and sig.quality in QUALITIES
    weights = [c.weight for c in sig.contributions.values()]
    voted = any(w > 0 for w in weights)
    assert sum(weights) == pytest.approx(1.0 if voted else 0.0, abs=1e-9)
    assert set(sig.missing_models) == {m for m in MODELS if not isinstance(preds[m], Prediction)}
    if sig.actionable:
        assert sig.direction != 0 and sig.confidence >= sig.threshold - 1e-9
        assert regime is None or regime.name != "volatile"
    if not voted or sum(isinstance(p, Prediction) for p in preds.values()) < min_models:
        assert (sig.signal, sig.quality, sig.actionable) == ("HOLD", "POOR", False)


@settings(max_examples=100, deadline=None)
@given(
    outcomes=st.lists(st.tuples(st.sampled_from(MODELS), st.booleans()), max_size=120),
    floor=st.floats(0.0, 0.24),
    present=st.sets(st.sampled_from(MODELS), min_size=1),
)
def test_weights_are_normalised_and_floored(outcomes: list, floor: float, present: set) -> None:
    tracker = AccuracyTracker(TrackingConfig(min_outcomes=3, half_life=5, weight_floor=floor))
    for model, correct in outcomes:
        tracker.update("BTCUSDT", model, correct)
    static = {m: DEFAULT_WEIGHTS[m] for m in MODELS if m in present}
    weights, dynamic = tracker.weights("BTCUSDT", static)
    assert set(weights) == present
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-9)
    if dynamic:
        assert min(weights.values()) >= floor - 1e-12
    for model in present:
        acc = tracker.stats("BTCUSDT", model).accuracy
        assert acc is None or 0.0 <= acc <= 1.0


@settings(max_examples=100, deadline=None)
@given(raw=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=8), floor=st.floats(0.0, 0.5))
def test_apply_floor_invariants(raw: list, floor: float) -> None:
    got = apply_floor(raw, floor)
    assert sum(got) == pytest.approx(1.0, abs=1e-9)
    assert min(got) >= min(floor, 1.0 / len(raw)) - 1e-12


@settings(max_examples=100, deadline=None)
@given(signals=st.lists(st.tuples(unit, st.booleans()), max_size=80))
def test_threshold_stays_in_the_grid_or_default(signals: list) -> None:
    cfg = config(adaptive_threshold={"window": 40, "min_signals": 5}).original.adaptive_threshold
    thr = AdaptiveThreshold(cfg, default=0.7)
    allowed = {*cfg.grid(), 0.7}
    for conf, win in signals:
        assert thr.update("BTCUSDT", conf, win) in allowed
