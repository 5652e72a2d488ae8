"""The position rule: clear the cost with margin, size by capped fractional Kelly, hold for
the horizon, renew, flip only on a stronger opposite signal, never trade on a degraded
answer; a higher cost never turns "no trade" into a trade."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.trading import Estimate, Holding, TradingSettings, decide, kelly_size

S = TradingSettings()  # 10 bps round trip, z = 1, horizon 4, Kelly 0.25, cap 0.25


def est(mu, se=2.0, sd=100.0):
    return Estimate(mu, se, sd, 100.0)


def test_flat_opens_only_when_the_edge_clears_cost_plus_a_standard_error():
    assert decide(None, est(11.9), 7, 10.0, S).action == "flat"  # 11.9 - 2 < 10
    d = decide(None, est(12.1), 7, 10.0, S)
    assert (d.action, d.side, d.expiry_bar) == ("open", 1, 11)
    assert "open long" in d.reason
    d = decide(None, est(-30.0), 7, 10.0, S)
    assert (d.action, d.side) == ("open", -1)


def test_kelly_size_is_fractional_and_capped_by_position_and_risk():
    # 0.25 * (12 - 10) bps / (400 bps)^2 = 0.25 * 2e-4 / 1.6e-3 = 0.03125 of equity
    assert kelly_size(est(12.0, sd=400.0), 10.0, S) == pytest.approx(0.03125)
    assert kelly_size(est(100.0), 10.0, S) == pytest.approx(0.25)  # per-symbol cap
    # volatile: risk cap 50 bps / 400 bps = 0.125
    assert kelly_size(est(1000.0, sd=400.0), 10.0, S) == pytest.approx(0.125)
    assert kelly_size(est(5.0), 10.0, S) == 0.0


def test_a_position_too_small_for_min_position_is_not_opened():
    tiny = TradingSettings(min_position=0.1)
    assert decide(None, est(12.5, sd=400.0), 0, 10.0, tiny).action == "flat"
    assert decide(None, est(12.5, sd=100.0), 0, 10.0, tiny).action == "open"


def test_no_trade_on_a_degraded_answer_and_a_held_position_runs_to_its_horizon():
    d = decide(None, None, 0, 10.0, S, missing="degraded answer")
    assert d.action == "flat" and "degraded answer" in d.reason
    held = Holding(1, expiry_bar=10, conviction_bps=20.0)
    assert decide(held, None, 9, 10.0, S).action == "hold"
    assert decide(held, None, 10, 10.0, S).action == "close"


def test_held_for_the_horizon_renewed_by_a_same_side_signal():
    held = Holding(1, expiry_bar=10, conviction_bps=20.0)
    assert decide(held, est(1.0), 9, 10.0, S).action == "hold"  # conviction -1: no renewal
    d = decide(held, est(5.0), 9, 10.0, S)  # conviction 3 > 0: renew, no cost to clear
    assert (d.action, d.expiry_bar, d.conviction_bps) == ("renew", 13, 3.0)
    assert decide(held, est(1.0), 10, 10.0, S).action == "close"


def test_an_opposite_signal_flips_only_when_stronger():
    held = Holding(1, expiry_bar=10, conviction_bps=20.0)
    assert decide(held, est(-21.0), 8, 10.0, S).action == "hold"  # conviction 19 < 20
    d = decide(held, est(-23.0), 8, 10.0, S)
    assert (d.action, d.side, d.expiry_bar) == ("flip", -1, 12)
    # at its horizon the held position closes anyway: any opposite edge opens
    assert decide(held, est(-13.0), 10, 10.0, S).action == "flip"


def test_not_certified_nothing_opens_renews_or_flips():
    held = Holding(1, expiry_bar=10, conviction_bps=5.0)
    assert decide(None, est(50.0), 0, 10.0, S, certified=False).action == "flat"
    assert decide(held, est(50.0), 9, 10.0, S, certified=False).action == "hold"
    assert decide(held, est(-50.0), 9, 10.0, S, certified=False).action == "hold"
    assert decide(held, est(50.0), 10, 10.0, S, certified=False).action == "close"


def _fills(action):
    return {"open": 1, "close": 1, "flip": 2}.get(action, 0)


holdings = st.one_of(
    st.none(),
    st.builds(
        Holding,
        st.sampled_from([-1, 1]),
        st.integers(0, 20),
        st.floats(-50, 200, allow_nan=False),
    ),
)
estimates = st.one_of(
    st.none(),
    st.builds(
        Estimate,
        st.floats(-300, 300, allow_nan=False),
        st.floats(0, 100, allow_nan=False),
        st.floats(1, 1000, allow_nan=False),
        st.just(50.0),
    ),
)


@settings(max_examples=400, deadline=None)
@given(
    holdings,
    estimates,
    st.integers(0, 20),
    st.floats(0, 50, allow_nan=False),
    st.floats(0, 50, allow_nan=False),
    st.booleans(),
)
def test_a_higher_cost_never_adds_a_trade(holding, estimate, bar, low, extra, certified):
    cheap = decide(holding, estimate, bar, low, S, certified=certified)
    dear = decide(holding, estimate, bar, low + extra, S, certified=certified)
    assert _fills(dear.action) <= _fills(cheap.action)
    if dear.action in ("open", "flip"):  # and what it opens is no larger
        assert dear.size <= cheap.size
