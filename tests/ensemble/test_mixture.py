"""The fixed-share mixture: its regret bound with delayed outcomes, and sleeping experts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.ensemble.mixture import FixedShareMixture
from models.errors import EnsembleInputError

NAMES = ("a", "b", "c", "d", "e")


def _vectors(draw, n: int) -> list[tuple[float, float, float]]:
    out = []
    for _ in range(n):
        raw = draw(st.lists(st.floats(0.001, 1.0), min_size=3, max_size=3))
        total = sum(raw)
        out.append(tuple(v / total for v in raw))
    return out


@st.composite
def sequences(draw):
    n_experts = draw(st.integers(2, 5))
    steps = draw(st.integers(1, 80))
    delay = draw(st.integers(1, 5))
    alpha = draw(st.sampled_from([0.0, 0.001, 0.05]))
    prior = draw(st.lists(st.floats(0.05, 1.0), min_size=n_experts, max_size=n_experts))
    forecasts = [_vectors(draw, n_experts) for _ in range(steps)]
    outcomes = draw(st.lists(st.integers(0, 2), min_size=steps, max_size=steps))
    return n_experts, delay, alpha, prior, forecasts, outcomes


def _run(mixture, forecasts, outcomes, delay, names):
    """The live loop: forecast bar t with copy t mod h, learn bar t's outcome at t + h."""
    mixed_loss = 0.0
    losses = np.zeros(len(names))
    for t, (vectors, y) in enumerate(zip(forecasts, outcomes, strict=True)):
        if t >= delay:
            s = t - delay
            mixture.update(
                "X", mixture.copy_of(s), dict(zip(names, forecasts[s], strict=True)), outcomes[s]
            )
        probs, _ = mixture.forecast("X", mixture.copy_of(t), dict(zip(names, vectors, strict=True)))
        mixed_loss += -math.log(probs[y])
        losses += [-math.log(v[y]) for v in vectors]
    return mixed_loss, losses


@settings(max_examples=150, deadline=None)
@given(sequences())
def test_regret_against_every_expert_is_bounded_with_delay(case):
    n, delay, alpha, prior, forecasts, outcomes = case
    names = NAMES[:n]
    mixture = FixedShareMixture(names, alpha, delay, dict(zip(names, prior, strict=True)))
    mixed, losses = _run(mixture, forecasts, outcomes, delay, names)
    pi = np.asarray(prior) / sum(prior)
    steps = len(outcomes)
    for i in range(n):
        bound = losses[i] + delay * math.log(1 / pi[i]) + steps * math.log(1 / (1 - alpha))
        assert mixed <= bound + 1e-9


def test_oracle_takes_the_weight_and_the_adversary_loses_it():
    rng = np.random.default_rng(0)
    names = ("oracle", "adversary", "uniform")
    mixture = FixedShareMixture(names, 0.001, 4)
    for t in range(3000):
        y = int(rng.integers(3))
        oracle = tuple(0.7 if k == y else 0.15 for k in range(3))
        adversary = tuple(0.7 if k == (y + 1) % 3 else 0.15 for k in range(3))
        probs = {"oracle": oracle, "adversary": adversary, "uniform": (1 / 3, 1 / 3, 1 / 3)}
        mixture.update("X", mixture.copy_of(t), probs, y)
    for copy in range(4):
        w = mixture.weights("X", copy)
        assert w["oracle"] > 0.99 and w["adversary"] < 0.001


def test_an_expert_that_always_sleeps_changes_nothing():
    rng = np.random.default_rng(1)
    with_ghost = FixedShareMixture(("a", "b", "ghost"), 0.01, 2, {"a": 1.0, "b": 0.3, "ghost": 5.0})
    without = FixedShareMixture(("a", "b"), 0.01, 2, {"a": 1.0, "b": 0.3})
    for t in range(300):
        probs = {m: tuple(rng.dirichlet([1, 1, 1])) for m in ("a", "b")}
        y = int(rng.integers(3))
        p1, w1 = with_ghost.forecast("X", t % 2, probs)
        p2, w2 = without.forecast("X", t % 2, probs)
        assert p1 == pytest.approx(p2, rel=1e-12) and w1 == pytest.approx(w2, rel=1e-12)
        with_ghost.update("X", t % 2, probs, y)
        without.update("X", t % 2, probs, y)


def test_state_round_trips_and_carries_weights_to_other_experts():
    mixture = FixedShareMixture(("a", "b"), 0.01, 3)
    mixture.update("X", 1, {"a": (0.2, 0.3, 0.5), "b": (0.5, 0.3, 0.2)}, 2)
    again = FixedShareMixture(("a", "b"), 0.01, 3)
    again.load_state_dict(mixture.state_dict())
    assert again.weights("X", 1) == mixture.weights("X", 1)
    other = FixedShareMixture(("a", "c"), 0.01, 3, prior={"c": 3.0})  # b left, c joined
    other.load_state_dict(mixture.state_dict())
    assert other.weights("X", 1) == pytest.approx({"a": 0.25, "c": 0.75})  # c: its prior
    assert other.weights("X", 0) == pytest.approx({"a": 0.25, "c": 0.75})
    with pytest.raises(EnsembleInputError, match=r"mixture\.experts"):
        other.load_state_dict({"experts": [], "weights": {}})
    with pytest.raises(EnsembleInputError, match=r"mixture\.weights\.X"):
        FixedShareMixture(("a", "b"), 0.01, 2).load_state_dict(mixture.state_dict())
    with pytest.raises(EnsembleInputError, match="known experts"):
        mixture.forecast("X", 0, {"zzz": (1.0, 0.0, 0.0)})
