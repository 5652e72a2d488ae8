"""Baselines (causal, on real data) and the answer key the signals are scored against."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.evaluation.baselines import (
    BASELINES,
    baseline_signals,
    momentum_direction,
    prior_class_frequencies,
    sma_cross_direction,
)
from models.evaluation.outcomes import compute_outcomes
from models.labels import LabelConfig, band_series, make_labels
from tests.causality import assert_prefix_causal

CFG = LabelConfig()


def _baselines_frame(frame: pl.DataFrame) -> pl.DataFrame:
    rows = np.arange(frame.height)
    signals = baseline_signals(frame, rows, CFG)
    return pl.DataFrame({s.name: s.direction for s in signals if s.name != "majority"})


def test_baselines_are_prefix_causal_on_real_data(btc):
    frame = btc.slice(3000, 800)
    assert_prefix_causal(_baselines_frame, frame, [60, 300, 799])


def test_majority_uses_only_labels_resolved_before_the_period(btc):
    frame = btc.slice(0, 2000)
    prior = prior_class_frequencies(frame, 1000, CFG)
    labels = make_labels(frame.head(1000), CFG).drop_nulls().to_numpy()
    assert prior.tolist() == pytest.approx(
        (np.bincount(labels, minlength=3) / labels.size).tolist()
    )
    # bars from 1000 on are not known before the period starts: changing them changes nothing
    later = frame.with_columns(
        pl.when(pl.int_range(pl.len()) >= 1000).then(pl.col("close") * 3).otherwise(pl.col("close"))
    )
    assert prior_class_frequencies(later, 1000, CFG).tolist() == prior.tolist()


def test_momentum_and_mean_reversion_mirror_each_other_by_hand():
    close = np.array([100.0, 100.0, 101.0, 100.0, 100.01])
    band = np.full(5, 0.004)  # one-bar band: 0.004 / sqrt(4) = 0.002 in log return
    assert momentum_direction(close, band, 4).tolist() == [0, 0, 1, -1, 0]
    signals = {
        s.name: s
        for s in baseline_signals(
            pl.DataFrame({"close": np.linspace(100, 120, 300), "timestamp": np.arange(300)}),
            np.arange(250, 300),
            CFG,
        )
    }
    assert set(signals) == set(BASELINES)
    assert np.array_equal(signals["mean_reversion"].direction, -signals["momentum"].direction)
    assert signals["buy_and_hold"].position.tolist() == [1] * 50
    assert signals["always_flat"].position.tolist() == [0] * 50
    assert signals["sma_cross"].position.tolist() == [1] * 50  # a rising line: SMA20 > SMA50


def test_sma_cross_is_zero_until_both_averages_exist():
    out = sma_cross_direction(np.linspace(1.0, 2.0, 60))
    assert out[:49].tolist() == [0] * 49 and out[49:].tolist() == [1] * 11


def test_outcomes_match_the_training_labels_and_returns(btc):
    frame = btc.slice(2000, 600)
    rows = np.arange(300, 600)
    out = compute_outcomes(frame, rows, CFG)
    close = frame["close"].to_numpy()
    labels = make_labels(frame, CFG).cast(pl.Float64).fill_null(np.nan).to_numpy()[rows]
    np.testing.assert_array_equal(out.label, labels)
    assert np.isnan(out.label[-4:]).all()  # no future yet
    t = 310
    i = t - 300
    assert out.forward_return[i] == pytest.approx(np.log(close[t + 4] / close[t]))
    assert out.next_return[i] == pytest.approx(close[t + 1] / close[t] - 1)
    assert out.band[i] == band_series(close, CFG)[t]
    assert out.resolve_row[i] == t + 4 and out.realized_return[i] == pytest.approx(
        np.log(close[t + 4] / close[t])
    )
    assert np.isnan(out.next_return[-1]) and out.resolve_row[-1] == -1
