"""The online stacker recovers planted signed coefficients and learns regime offsets."""

from __future__ import annotations

import numpy as np
import pytest

from models.ensemble.learning_config import StackerConfig
from models.ensemble.stacker import OnlineStacker
from models.errors import EnsembleInputError

UNIFORM = (1 / 3, 1 / 3, 1 / 3)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def test_recovers_planted_signed_coefficients():
    rng = np.random.default_rng(0)
    planted = {"a": 1.5, "b": -1.0, "c": 0.0}
    stacker = OnlineStacker(
        ("a", "b", "c", "base_rate"), "base_rate", StackerConfig(use_regime=False)
    )
    for _ in range(20_000):
        probs = {m: tuple(rng.dirichlet([2, 2, 2])) for m in planted}
        probs["base_rate"] = UNIFORM
        x = stacker.features(probs)
        q = _softmax(sum(planted[m] * x[i] for i, m in enumerate(planted)))
        stacker.update(probs, None, int(rng.choice(3, p=q)))
    coef = stacker.coefficients()
    for name, value in planted.items():
        assert coef[name] == pytest.approx(value, abs=0.15), coef


def test_starts_as_the_base_rate_and_ignores_missing_inputs():
    stacker = OnlineStacker(("a", "base_rate"), "base_rate", StackerConfig())
    base = (0.3, 0.45, 0.25)
    assert stacker.forecast({"base_rate": base}, None) == pytest.approx(base)
    assert stacker.forecast(
        {"a": (0.9, 0.05, 0.05), "base_rate": base}, "ranging"
    ) == pytest.approx(base)


def test_learns_a_regime_offset_only_where_it_holds():
    rng = np.random.default_rng(1)
    stacker = OnlineStacker(("a", "base_rate"), "base_rate", StackerConfig())
    for _ in range(6000):
        regime = "trending_bullish" if rng.random() < 0.5 else "ranging"
        p_up = 0.6 if regime == "trending_bullish" else 0.2
        y = 2 if rng.random() < p_up else int(rng.integers(2))
        stacker.update({"base_rate": UNIFORM}, regime, y)
    bull = stacker.forecast({"base_rate": UNIFORM}, "trending_bullish")
    rng_ = stacker.forecast({"base_rate": UNIFORM}, "ranging")
    assert bull[2] == pytest.approx(0.6, abs=0.05) and rng_[2] == pytest.approx(0.2, abs=0.05)


def test_state_round_trip_and_mismatch():
    stacker = OnlineStacker(("a", "base_rate"), "base_rate", StackerConfig())
    stacker.update({"a": (0.2, 0.3, 0.5), "base_rate": UNIFORM}, "volatile", 0)
    again = OnlineStacker(("a", "base_rate"), "base_rate", StackerConfig())
    again.load_state_dict(stacker.state_dict())
    probe = {"a": (0.1, 0.6, 0.3), "base_rate": (0.3, 0.4, 0.3)}
    assert again.forecast(probe, "volatile") == stacker.forecast(probe, "volatile")
    joined = OnlineStacker(("a", "new", "base_rate"), "base_rate", StackerConfig())
    joined.load_state_dict(stacker.state_dict())  # a member added: it starts at its prior
    assert joined.forecast(probe, "volatile") == pytest.approx(stacker.forecast(probe, "volatile"))
    assert joined.coefficients()["new"] == 0.0
    assert joined.coefficients()["a"] == stacker.coefficients()["a"]
    bad = {**stacker.state_dict(), "regimes": ["x"]}
    with pytest.raises(EnsembleInputError, match="stacker"):
        joined.load_state_dict(bad)
