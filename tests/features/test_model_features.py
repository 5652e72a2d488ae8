"""Model features: causal on real data, defined exactly from MAX_LOOKBACK, scale-free."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.errors import DataValidationError
from models.features.indicators import compute_indicators
from models.features.model_features import (
    FEATURE_COLUMNS,
    MAX_LOOKBACK,
    compute_model_features,
)
from tests.causality import assert_prefix_causal


@pytest.fixture(scope="module")
def btc_slice(btc: pl.DataFrame) -> pl.DataFrame:
    return btc.slice(5000, 1200)


def test_causal_on_real_data(btc_slice: pl.DataFrame) -> None:
    assert_prefix_causal(
        compute_model_features,
        btc_slice,
        [1, 30, MAX_LOOKBACK, MAX_LOOKBACK + 1, 700, 1199],
        columns=FEATURE_COLUMNS,
    )


def test_every_feature_defined_exactly_from_max_lookback(btc_slice: pl.DataFrame) -> None:
    values = compute_model_features(btc_slice).select(FEATURE_COLUMNS).to_numpy()
    assert np.isfinite(values[MAX_LOOKBACK:]).all()
    assert not np.isfinite(values[MAX_LOOKBACK - 1]).all()


def test_scale_free(btc_slice: pl.DataFrame) -> None:
    scaled = btc_slice.with_columns(
        pl.col(c) * 1e-4 for c in ("open", "high", "low", "close")
    ).with_columns(pl.col("volume") * 1.0)
    a = compute_model_features(btc_slice).select(FEATURE_COLUMNS).to_numpy()[MAX_LOOKBACK:]
    b = compute_model_features(scaled).select(FEATURE_COLUMNS).to_numpy()[MAX_LOOKBACK:]
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_reuses_indicator_columns_and_short_window_matches_history(
    btc_slice: pl.DataFrame,
) -> None:
    full = compute_model_features(compute_indicators(btc_slice)).select(FEATURE_COLUMNS)
    window = btc_slice.tail(MAX_LOOKBACK + 64)
    short = compute_model_features(window).select(FEATURE_COLUMNS).to_numpy()[-64:]
    # Seeds of EMA / Wilder smoothers are forgotten by MAX_LOOKBACK: tiny differences only.
    np.testing.assert_allclose(short, full.to_numpy()[-64:], rtol=0, atol=1e-4)


def test_hour_encoding(btc_slice: pl.DataFrame) -> None:
    out = compute_model_features(btc_slice)
    hours = out["timestamp"].dt.hour().to_numpy()
    midnight = out.filter(pl.Series(hours == 0))
    assert np.allclose(midnight["hour_sin"], 0.0) and np.allclose(midnight["hour_cos"], 1.0)


def test_bad_input_names_the_column(btc_slice: pl.DataFrame) -> None:
    with pytest.raises(DataValidationError, match="timestamp"):
        compute_model_features(btc_slice.drop("timestamp"))
    bad = btc_slice.with_columns(pl.lit(-1.0).alias("close"))
    with pytest.raises(DataValidationError, match="close"):
        compute_model_features(bad)
