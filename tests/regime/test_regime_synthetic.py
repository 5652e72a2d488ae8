"""Series built to be one regime are labelled as that regime; thresholds move the labels."""

from __future__ import annotations

from collections import Counter

import polars as pl
import pytest

from models.regime.config import RegimeConfig
from models.regime.detector import RegimeDetector, detect_regimes
from tests.regime import synthetic

SEEDS = (0, 1, 2)


def _labels(frame: pl.DataFrame, last: int, config: RegimeConfig | None = None) -> list[str]:
    return detect_regimes(frame, config)["regime"].tail(last).to_list()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    ("drift", "regime"), [(0.004, "trending_bullish"), (-0.004, "trending_bearish")]
)
def test_steady_trend_is_trending(seed: int, drift: float, regime: str) -> None:
    frame = synthetic.trend(seed, drift=drift)
    assert set(_labels(frame, 60)) == {regime}
    state = RegimeDetector().current(frame.tail(256))
    assert state.name == regime and state.confidence > 0.5


@pytest.mark.parametrize("seed", SEEDS)
def test_tight_flat_market_is_consolidation(seed: int) -> None:
    assert set(_labels(synthetic.consolidation(seed), 30)) == {"consolidation"}


@pytest.mark.parametrize("seed", SEEDS)
def test_oscillation_is_mostly_ranging(seed: int) -> None:
    # Ranks are relative to the trailing window, so a stationary swing still has its
    # narrowest / widest fifth of bars; ranging must dominate, not own every bar.
    counts = Counter(_labels(synthetic.oscillation(seed), 250))
    assert counts.most_common(1)[0][0] == "ranging"
    assert counts["ranging"] >= 0.6 * 250, counts
    assert counts["trending_bullish"] + counts["trending_bearish"] <= 0.05 * 250, counts


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    ("up", "regime"), [(True, "breakout_bullish"), (False, "breakout_bearish")]
)
def test_squeeze_then_move_on_volume_is_a_breakout(seed: int, up: bool, regime: str) -> None:
    frame = synthetic.breakout(seed, up=up, move_bars=4)
    labels = _labels(frame, 6)
    assert labels[:2] == ["consolidation", "consolidation"]  # the squeeze before
    assert labels[2:] == [regime] * 4
    first_move = detect_regimes(frame.head(frame.height - 3))
    assert first_move["regime_confidence"][-1] > 0.4


@pytest.mark.parametrize("seed", SEEDS)
def test_large_random_swings_are_volatile(seed: int) -> None:
    assert set(_labels(synthetic.volatile(seed), 40)) == {"volatile"}


@pytest.mark.parametrize("seed", SEEDS)
def test_volume_spike_threshold_flips_the_breakout(seed: int) -> None:
    frame = synthetic.breakout(seed, up=True, move_bars=1, spike=5.0)
    assert _labels(frame, 1, RegimeConfig(volume_spike=4.0)) == ["breakout_bullish"]
    assert _labels(frame, 1, RegimeConfig(volume_spike=6.0)) != ["breakout_bullish"]


def test_adx_threshold_flips_trending_to_ranging() -> None:
    # an oscillation bar whose ADX sits between the two settings of the trend threshold
    frame = synthetic.oscillation(0)
    out = detect_regimes(frame)
    loose = RegimeConfig(adx_trend=12.0, adx_range=10.0, adx_softness=1.0)
    relabelled = detect_regimes(frame, loose)["regime"]
    flipped = (out["regime"] == "ranging") & relabelled.is_in(
        ["trending_bullish", "trending_bearish"]
    )
    assert flipped.sum() > 10
