"""Splits and prepared data: disjoint parts, embargo, train-only scaler, no look-ahead."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.errors import ConfigError, DataValidationError, InsufficientDataError
from models.features.model_features import FEATURE_COLUMNS, MAX_LOOKBACK, compute_model_features
from models.labels import LabelConfig, make_labels
from models.training.dataset import PreparedData, candle_hash, prepare_symbol_data
from models.training.splits import chronological_split, required_embargo
from tests.training.synthetic import random_walk_candles

SEQ = 16


@pytest.fixture(scope="module")
def candles(btc: pl.DataFrame) -> pl.DataFrame:
    return btc.slice(3000, 3000)


@pytest.fixture(scope="module")
def prepared(candles: pl.DataFrame) -> PreparedData:
    return prepare_symbol_data(candles, seq_len=SEQ)


def test_chronological_split_parts_and_gaps() -> None:
    split = chronological_split(np.arange(50, 1050), val_frac=0.2, test_frac=0.1, embargo=30)
    assert len(split.test) == 100 and len(split.val) == 200
    assert split.train[-1] < split.val[0] and split.val[-1] < split.test[0]
    assert split.val[0] - split.train[-1] - 1 >= 30 and split.test[0] - split.val[-1] - 1 >= 30
    no_test = chronological_split(np.arange(100), val_frac=0.2, test_frac=0.0, embargo=5)
    assert len(no_test.test) == 0 and no_test.train[-1] + 5 < no_test.val[0]
    with pytest.raises(InsufficientDataError):
        chronological_split(np.arange(40), val_frac=0.2, test_frac=0.2, embargo=30)
    with pytest.raises(ConfigError, match="val_frac"):
        chronological_split(np.arange(40), val_frac=1.2, test_frac=0.0, embargo=0)


def test_parts_disjoint_and_embargoed(prepared: PreparedData) -> None:
    h = prepared.label_cfg.horizon
    assert prepared.embargo == required_embargo(h, MAX_LOOKBACK, SEQ) >= h + MAX_LOOKBACK
    for first, second in ((prepared.train, prepared.val), (prepared.val, prepared.test)):
        assert len(first) and len(second)
        assert second.ends[0] - first.ends[-1] - 1 >= prepared.embargo
        # The last label bar of one part precedes every bar the next part reads.
        assert first.ends[-1] + h < second.ends[0] - SEQ + 1 - MAX_LOOKBACK
    all_ends = np.concatenate([prepared.train.ends, prepared.val.ends, prepared.test.ends])
    assert len(np.unique(all_ends)) == len(all_ends)
    assert np.all(np.diff(all_ends) > 0)
    assert len(prepared.val) == len(prepared.test)


def test_windows_labels_and_scaler(candles: pl.DataFrame, prepared: PreparedData) -> None:
    feats = compute_model_features(candles).select(FEATURE_COLUMNS).to_numpy()
    train = prepared.train
    rows = feats[train.ends[0] - SEQ + 1 : train.ends[-1] + 1]
    np.testing.assert_allclose(prepared.scaler.mean, rows.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(prepared.scaler.std, rows.std(axis=0), rtol=1e-12)
    assert not np.allclose(prepared.scaler.mean, feats[MAX_LOOKBACK:].mean(axis=0))
    i = len(train) // 2
    window = train.X[i]
    assert window.dtype == np.float32 and train.X.shape == (len(train), SEQ, len(FEATURE_COLUMNS))
    expected = feats[train.ends[i] - SEQ + 1 : train.ends[i] + 1] - prepared.scaler.mean
    np.testing.assert_allclose(window, expected / prepared.scaler.std, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(train.X)[i], window)
    labels = make_labels(candles, LabelConfig()).to_numpy()
    np.testing.assert_array_equal(train.y, labels[train.ends])


def test_training_part_ignores_validation_prices(
    candles: pl.DataFrame, prepared: PreparedData
) -> None:
    first_val_bar = prepared.val.ends[0] - SEQ + 1 - MAX_LOOKBACK
    rng = np.random.default_rng(7)
    factor = np.ones(candles.height)
    factor[first_val_bar:] = rng.uniform(0.5, 2.0, candles.height - first_val_bar)
    changed = candles.with_columns(
        pl.col(c) * pl.Series(factor) for c in ("open", "high", "low", "close")
    )
    other = prepare_symbol_data(changed, seq_len=SEQ)
    np.testing.assert_array_equal(other.train.ends, prepared.train.ends)
    np.testing.assert_array_equal(other.train.y, prepared.train.y)
    np.testing.assert_array_equal(np.asarray(other.train.X), np.asarray(prepared.train.X))
    np.testing.assert_array_equal(other.scaler.mean, prepared.scaler.mean)
    assert not np.array_equal(other.val.y, prepared.val.y)
    assert other.data_hash != prepared.data_hash


def test_data_window_and_restriction(candles: pl.DataFrame, prepared: PreparedData) -> None:
    window = prepared.data_window
    assert window["data_hash"] == candle_hash(candles) == prepared.data_hash
    assert window["train"]["samples"] == len(prepared.train)
    assert window["train"]["label_end"] < window["val"]["start"] < window["test"]["start"]
    start, end = candles["timestamp"][500], candles["timestamp"][2500]
    part = prepare_symbol_data(candles, seq_len=SEQ, start=start, end=end.isoformat())
    assert part.data_hash == candle_hash(candles.slice(500, 2000))
    assert part.data_window["train"]["start"] >= start.isoformat()[:19]


def test_synthetic_mechanics_and_bad_input() -> None:
    candles = random_walk_candles(1500)
    data = prepare_symbol_data(candles, seq_len=8, val_frac=0.2, test_frac=0.0)
    assert len(data.test) == 0 and data.data_window["test"]["samples"] == 0
    with pytest.raises(ConfigError, match="seq_len"):
        prepare_symbol_data(candles, seq_len=0)
    with pytest.raises(DataValidationError, match="volume"):
        prepare_symbol_data(candles.drop("volume"))
    with pytest.raises(DataValidationError, match="timestamp"):
        prepare_symbol_data(candles.reverse())
    with pytest.raises(ConfigError, match="start"):
        prepare_symbol_data(candles, start="yesterday")
    with pytest.raises(InsufficientDataError):
        prepare_symbol_data(candles.head(300))
