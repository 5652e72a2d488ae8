"""The expected-return model: recovers a planted line, shrinks toward the pool, states its
uncertainty, forgets slowly, and round-trips its state."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.errors import TradingError
from models.trading import ExpectedReturnModel

H = 4
SIGMA = 0.01  # 1-bar volatility: returns are measured in sigma * sqrt(h) = 2 %


def _feed(model, symbol, n, a, b, rng, start=0, noise=1.0):
    """``n`` outcomes whose scaled return is ``a + b x + noise``, one per bar."""
    scale = SIGMA * math.sqrt(H)
    for i in range(n):
        x = rng.normal()
        y = a + b * x + noise * rng.normal()
        model.learn(symbol, start + i, x, y * scale, SIGMA)


def test_recovers_a_planted_line_in_bps():
    rng = np.random.default_rng(0)
    model = ExpectedReturnModel(H, half_life_bars=1e9, prior_outcomes=0, min_outcomes=10)
    _feed(model, "A", 20_000, 0.01, 0.2, rng)
    est = model.estimate("A", 20_000, 1.0, SIGMA)
    # mu = 200 bps * (0.01 + 0.2 * 1) = 42 bps; independent outcomes (one per block here):
    # se ~ 200 * sqrt(2 / 20000) = 2 bps
    assert est.mu_bps == pytest.approx(42.0, abs=3 * est.se_bps)
    assert est.se_bps == pytest.approx(2.0, rel=0.1)
    assert est.sd_bps == pytest.approx(200.0, rel=0.05)


def test_scaled_by_the_volatility_at_the_signal():
    rng = np.random.default_rng(1)
    model = ExpectedReturnModel(H, min_outcomes=10)
    _feed(model, "A", 2000, 0.0, 0.3, rng)
    low = model.estimate("A", 2000, 1.0, SIGMA)
    high = model.estimate("A", 2000, 1.0, 2 * SIGMA)
    assert high.mu_bps == pytest.approx(2 * low.mu_bps)
    assert high.se_bps == pytest.approx(2 * low.se_bps)


def test_a_symbol_with_few_outcomes_follows_the_pool_one_with_many_its_own():
    def pooled(seed):
        rng = np.random.default_rng(seed)
        model = ExpectedReturnModel(H, half_life_bars=1e9, prior_outcomes=200, min_outcomes=10)
        for k in range(4):
            _feed(model, f"P{k}", 3000, 0.0, 0.2, rng, noise=0.5)
        return model, rng

    model, rng = pooled(2)
    _feed(model, "FEW", 5, 0.0, -1.0, rng, start=3000, noise=0.5)
    few = model.estimate("FEW", 3005, 1.0, SIGMA)
    assert few.mu_bps > 0  # 5 outcomes of a negative slope do not overturn the pool
    model, rng = pooled(2)
    _feed(model, "MANY", 6000, 0.0, -0.2, rng, start=3000, noise=0.5)
    many = model.estimate("MANY", 9000, 1.0, SIGMA)
    assert many.mu_bps < 0  # its own 6,000 do
    assert many.mu_bps == pytest.approx(-40.0, abs=10.0)


def test_uncertainty_falls_with_evidence_and_widens_away_from_the_data():
    rng = np.random.default_rng(3)
    model = ExpectedReturnModel(H, half_life_bars=1e9, prior_outcomes=0, min_outcomes=10)
    _feed(model, "A", 100, 0.0, 0.1, rng)
    early = model.estimate("A", 100, 0.0, SIGMA).se_bps
    _feed(model, "A", 10_000, 0.0, 0.1, rng, start=100)
    late = model.estimate("A", 10_100, 0.0, SIGMA)
    assert late.se_bps < early / 5
    assert model.estimate("A", 10_100, 3.0, SIGMA).se_bps > late.se_bps


def _z_scores(symbols, rho, sims=100, bars=800, seed=8):
    """(estimate - truth) / se of the intercept at score 0, over simulated markets whose
    4-bar outcomes overlap (learned every bar) and whose symbols share a factor ``rho``."""
    rng = np.random.default_rng(seed)
    z = []
    for _ in range(sims):
        model = ExpectedReturnModel(H, half_life_bars=math.inf, prior_outcomes=0, min_outcomes=1)
        common = rng.normal(size=bars + H)
        steps = [
            math.sqrt(rho) * common + math.sqrt(1 - rho) * rng.normal(size=bars + H)
            for _ in range(symbols)
        ]
        for t in range(H, bars + H):  # the outcome of the signal at t - h resolves at t
            for k in range(symbols):
                realized = SIGMA * steps[k][t - H + 1 : t + 1].sum()
                model.learn(f"S{k}", t, rng.normal(), realized, SIGMA)
        est = model.estimate("S0", bars + H, 0.0, SIGMA)
        z.append(est.mu_bps / est.se_bps)  # the true expected return is 0
    return np.asarray(z)


@pytest.mark.parametrize(("symbols", "rho"), [(1, 0.0), (4, 0.7)])
def test_the_standard_error_counts_overlapping_and_simultaneous_outcomes(symbols, rho):
    # treating the outcomes as independent would make these z-scores sqrt(4) (one symbol)
    # to sqrt(4 * (1 + 3 * 0.7)) = 3.5 (four correlated ones) times too wide
    z = _z_scores(symbols, rho)
    assert 0.75 < np.std(z) < 1.3


def test_no_estimate_before_min_outcomes_or_without_volatility():
    rng = np.random.default_rng(5)
    model = ExpectedReturnModel(H, half_life_bars=math.inf, min_outcomes=50)
    _feed(model, "A", 49, 0.0, 0.1, rng)
    assert model.estimate("A", 49, 0.5, SIGMA) is None
    _feed(model, "A", 1, 0.0, 0.1, rng, start=49)
    assert model.estimate("A", 49, 0.5, SIGMA) is not None
    assert model.estimate("A", 49, 0.5, float("nan")) is None
    assert model.estimate("A", 49, 0.5, 0.0) is None
    # a symbol never seen is the pool's
    assert model.estimate("NEW", 49, 0.5, SIGMA) is not None


def test_old_outcomes_fade_with_the_half_life():
    rng = np.random.default_rng(6)
    model = ExpectedReturnModel(H, half_life_bars=100, prior_outcomes=0, min_outcomes=1)
    _feed(model, "A", 3000, 0.0, 0.5, rng, noise=0.3)
    _feed(model, "A", 3000, 0.0, -0.5, rng, start=3000, noise=0.3)
    assert model.estimate("A", 6000, 1.0, SIGMA).mu_bps < -80
    assert model.outcomes(6000) == pytest.approx(100 / math.log(2), rel=0.02)
    assert model.outcomes(6100) == pytest.approx(model.outcomes(6000) / 2, rel=1e-9)


def test_a_constant_score_gives_the_mean_return():
    model = ExpectedReturnModel(H, half_life_bars=1e9, prior_outcomes=0, min_outcomes=1)
    for i in range(200):
        model.learn("A", i, 0.0, 0.002 if i % 2 else 0.0, SIGMA)
    est = model.estimate("A", 200, 0.0, SIGMA)
    assert est.mu_bps == pytest.approx(10.0, rel=1e-6)
    assert math.isfinite(est.se_bps)


def test_state_round_trips_exactly():
    rng = np.random.default_rng(7)
    model = ExpectedReturnModel(H, min_outcomes=10)
    _feed(model, "A", 300, 0.0, 0.2, rng)
    _feed(model, "B", 300, 0.0, 0.1, rng)
    copy = ExpectedReturnModel(H, min_outcomes=10)
    copy.load_state_dict(model.state_dict())
    assert copy.estimate("A", 400, 0.7, SIGMA) == model.estimate("A", 400, 0.7, SIGMA)


@pytest.mark.parametrize(
    "state",
    [
        None,
        {"pooled": [0] * 7},
        {"pooled": [0, 0, 0], "symbols": {}},
        {"pooled": [0, 0, 0, 0, 0, float("nan"), 1], "symbols": {}},
    ],
)
def test_bad_state_is_refused(state):
    with pytest.raises(TradingError, match="expected-return state"):
        ExpectedReturnModel(H).load_state_dict(state)


@pytest.mark.parametrize(
    ("score", "realized", "sigma"), [(math.nan, 0.0, 0.01), (0.0, math.inf, 0.01), (0.0, 0.0, 0.0)]
)
def test_bad_outcomes_are_refused(score, realized, sigma):
    with pytest.raises(TradingError):
        ExpectedReturnModel(H).learn("A", 0, score, realized, sigma)
