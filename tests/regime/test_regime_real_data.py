"""The detector on real Binance candles: causal, informative confidence, every regime seen."""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl
import pytest

from models.regime.config import RegimeConfig
from models.regime.detector import OUTPUT_COLUMNS, RegimeDetector, detect_regimes
from models.regime.state import REGIMES
from tests.causality import assert_prefix_causal
from tests.conftest import SYMBOLS


@pytest.mark.parametrize("symbol", ["BTCUSDT", "DOGEUSDT", "SOLUSDT"])
def test_every_output_column_is_prefix_causal(real_candles, symbol: str) -> None:
    frame = real_candles(symbol)
    first = RegimeDetector().min_bars - 1
    prefixes = [first - 1, first, first + 1, first + 57, 1000, 4321, frame.height // 2]
    assert_prefix_causal(detect_regimes, frame, prefixes, columns=OUTPUT_COLUMNS)


def test_causal_with_a_non_default_config(btc: pl.DataFrame) -> None:
    cfg = RegimeConfig(bb_width_percentile_window=60, transition_window=30, slope_period=8)
    assert_prefix_causal(
        lambda df: detect_regimes(df, cfg), btc.slice(5000, 3000), [100, 150, 777, 2500]
    )


def test_confidence_and_transition_probability_really_vary(btc: pl.DataFrame) -> None:
    out = detect_regimes(btc).drop_nulls()
    for column in ("regime_confidence", "regime_transition_probability"):
        values = out[column]
        assert values.n_unique() > 0.9 * out.height, column
        assert values.std() > 0.05, column
    conf = out["regime_confidence"]
    assert conf.quantile(0.1) < 0.1 and conf.quantile(0.9) > 0.6


def test_all_seven_regimes_occur_across_the_ten_symbols(real_candles) -> None:
    counts: Counter[str] = Counter()
    for symbol in SYMBOLS:
        counts.update(detect_regimes(real_candles(symbol))["regime"].drop_nulls().to_list())
    total = sum(counts.values())
    for name in REGIMES:
        assert counts[name] >= 0.002 * total, (name, counts)
    # no regime swallows the market: the largest stays well under half of all bars
    assert max(counts.values()) < 0.4 * total, counts


def test_regimes_persist_more_than_chance(btc: pl.DataFrame) -> None:
    labels = detect_regimes(btc)["regime"].drop_nulls().to_numpy()
    switch_share = float(np.mean(labels[1:] != labels[:-1]))
    shares = np.array(list(Counter(labels.tolist()).values())) / labels.size
    independent = 1.0 - float(np.sum(shares**2))  # switch rate if bars were independent
    assert switch_share < 0.5 * independent


@pytest.mark.parametrize(
    ("field", "low", "high", "regimes"),
    [
        ("adx_trend", 25.0, 40.0, ("trending_bullish", "trending_bearish")),
        ("volume_spike", 2.0, 4.0, ("breakout_bullish", "breakout_bearish")),
        ("squeeze_percentile", 0.3, 0.1, ("consolidation",)),
    ],
)
def test_stricter_threshold_means_fewer_bars(btc, field: str, low, high, regimes) -> None:
    def count(value: float) -> int:
        labels = detect_regimes(btc, RegimeConfig(**{field: value}))["regime"]
        return int(labels.is_in(list(regimes)).sum())

    loose, strict = count(low), count(high)
    assert 0 < strict < 0.8 * loose, (field, loose, strict)
