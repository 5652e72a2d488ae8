"""Tree features: prefix-causal on real data (leader and higher timeframes included),
declared warm-ups hold, scale-free, leader handling and bad input."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from models.errors import DataValidationError
from models.features.htf_features import higher_timeframe_features
from models.predictors.leader import LEADER_COLUMNS, attach_leader
from models.predictors.tree_features import (
    FEATURE_LOOKBACK,
    FEATURE_SPECS,
    LEADER_SOURCES,
    TREE_FEATURES,
    own_features,
    tree_features,
)
from tests.causality import assert_prefix_causal
from tests.training.synthetic import random_walk_candles


@pytest.fixture(scope="module")
def eth_with_leader(real_candles) -> pl.DataFrame:
    """1,300 hourly ETH bars starting mid-day (not on a 4h / day boundary), BTC attached."""
    eth = real_candles("ETHUSDT").slice(9003, 1300)
    return attach_leader(eth, real_candles("BTCUSDT"))


def test_every_feature_prefix_causal_on_real_data(eth_with_leader: pl.DataFrame) -> None:
    assert_prefix_causal(
        tree_features,
        eth_with_leader,
        [1, 5, 47, 100, FEATURE_LOOKBACK, FEATURE_LOOKBACK + 1, 725, 1299],
        columns=TREE_FEATURES,
    )


def test_declared_warmups_hold(eth_with_leader: pl.DataFrame) -> None:
    out = tree_features(eth_with_leader)
    for spec in FEATURE_SPECS:
        finite = np.isfinite(out[spec.name].to_numpy())
        if spec.sparse:  # NaN also means "none yet" (no break, no zone, no leader bar)
            assert finite[spec.warmup :].any(), spec.name
        else:  # defined from its warm-up on, at the latest
            assert finite[spec.warmup :].all(), f"{spec.name} NaN after its warm-up"
    assert max(s.warmup for s in FEATURE_SPECS) == FEATURE_LOOKBACK
    assert len(set(TREE_FEATURES)) == len(TREE_FEATURES)


def test_scale_free(eth_with_leader: pl.DataFrame) -> None:
    prices = ("open", "high", "low", "close")
    scaled = eth_with_leader.with_columns(pl.col(c) * 1e-3 for c in prices).with_columns(
        pl.col(f"leader_{c}") * 37.0 for c in prices
    )
    a = tree_features(eth_with_leader).select(TREE_FEATURES).to_numpy()[FEATURE_LOOKBACK:]
    b = tree_features(scaled).select(TREE_FEATURES).to_numpy()[FEATURE_LOOKBACK:]
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)


def test_higher_timeframe_uses_only_closed_bars() -> None:
    candles = random_walk_candles(24 * 6, seed=3)
    base = higher_timeframe_features(candles)
    # Change the close of the last hour of day 3: daily features may only move from that
    # hour on (the day closes with it), never before.
    row = 24 * 3 + 23
    bumped = candles.with_columns(
        pl.when(pl.int_range(pl.len()) == row).then(pl.col("close") * 1.05).otherwise("close")
    )
    moved = higher_timeframe_features(bumped)
    d1 = [c for c in base.columns if c.startswith("d1_") and c != "d1_close_vs_last"]
    before = base.select(d1).head(row).to_numpy()
    np.testing.assert_array_equal(before, moved.select(d1).head(row).to_numpy())
    assert not np.allclose(
        base["d1_log_ret_1"].to_numpy()[row], moved["d1_log_ret_1"].to_numpy()[row]
    )
    # The first (partial) day is dropped: a window starting at 05:00 has no d1 bar that day.
    late = higher_timeframe_features(candles.slice(5, 60))
    assert np.isnan(late["d1_close_vs_last"].to_numpy()[: 24 - 5 + 23]).all()


def test_leader_features_equal_the_leaders_own(real_candles) -> None:
    btc = real_candles("BTCUSDT").slice(9000, 900)
    eth = real_candles("ETHUSDT").slice(9000, 900)
    with_leader = tree_features(eth, btc)
    own = own_features(btc)
    for name in LEADER_SOURCES:
        np.testing.assert_array_equal(
            with_leader[f"leader_{name}"].to_numpy(), own[name].to_numpy()
        )
    # Same via the window's leader_* columns.
    carried = tree_features(attach_leader(eth, btc)).select(TREE_FEATURES)
    assert carried.equals(with_leader.select(TREE_FEATURES))


def test_missing_leader_bars_give_nan_leader_features() -> None:
    candles = random_walk_candles(600, seed=1)
    leader = random_walk_candles(600, seed=2).filter(pl.int_range(pl.len()) != 500)
    out = tree_features(candles, leader)
    assert np.isnan(out["leader_log_ret_1"].to_numpy()[500])
    assert np.isfinite(out["leader_log_ret_1"].to_numpy()[501])
    alone = tree_features(candles)
    assert np.isnan(alone.select([f"leader_{n}" for n in LEADER_SOURCES]).to_numpy()).all()


def test_bad_input_names_the_column() -> None:
    candles = random_walk_candles(300)
    with pytest.raises(DataValidationError, match="leader"):
        tree_features(candles.with_columns(pl.col("close").alias(LEADER_COLUMNS[3])))
    bad = candles.with_columns(
        pl.when(pl.int_range(pl.len()) == 10).then(-1.0).otherwise("close").alias("close")
    )
    with pytest.raises(DataValidationError, match="close"):
        tree_features(bad)


def test_synthetic_frame_has_every_column() -> None:
    candles = random_walk_candles(500)
    out = tree_features(candles, candles)
    assert out.columns == ["timestamp", *TREE_FEATURES] and out.height == 500
    assert out["timestamp"].dtype == pl.Datetime("us", "UTC")
    assert (out["timestamp"].diff().drop_nulls() == timedelta(hours=1)).all()
