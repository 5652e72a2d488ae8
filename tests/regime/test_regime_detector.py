"""detect_regimes / RegimeDetector mechanics: schema, warm-up, bounds, validation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.errors import DataValidationError, InsufficientDataError
from models.regime.config import RegimeConfig
from models.regime.detector import (
    OUTPUT_COLUMNS,
    SCORE_COLUMNS,
    RegimeDetector,
    detect_regimes,
)
from models.regime.state import REGIMES, RegimeState
from tests.regime import synthetic


@pytest.fixture(scope="module")
def btc_head(btc: pl.DataFrame) -> pl.DataFrame:
    return btc.head(2000)


def test_output_schema_and_one_row_per_bar(btc_head: pl.DataFrame) -> None:
    out = detect_regimes(btc_head)
    assert out.columns == list(OUTPUT_COLUMNS)
    assert out.height == btc_head.height
    assert out.schema["regime"] == pl.String
    assert all(out.schema[c] == pl.Float64 for c in OUTPUT_COLUMNS[1:])
    assert set(out["regime"].drop_nulls().unique()) <= set(REGIMES)


@pytest.mark.parametrize(
    "config",
    [
        RegimeConfig(),
        RegimeConfig(bb_width_percentile_window=50, adx_period=30, squeeze_lookback=3),
    ],
)
def test_warm_up_ends_exactly_at_min_bars(btc_head: pl.DataFrame, config: RegimeConfig) -> None:
    out = detect_regimes(btc_head, config)
    first = RegimeDetector(config).min_bars - 1
    assert out["regime"].head(first).null_count() == first
    assert out.slice(first).null_count().sum_horizontal().item() == 0


def test_scores_bounded_and_confidence_is_best_minus_runner_up(btc_head: pl.DataFrame) -> None:
    out = detect_regimes(btc_head).drop_nulls()
    scores = out.select(SCORE_COLUMNS).to_numpy()
    assert scores.min() >= 0.0 and scores.max() <= 1.0
    top2 = np.sort(scores, axis=1)[:, -2:]
    np.testing.assert_allclose(out["regime_confidence"].to_numpy(), top2[:, 1] - top2[:, 0])
    best = np.array(REGIMES)[scores.argmax(axis=1)]
    assert (out["regime"].to_numpy() == best).all()
    tp = out["regime_transition_probability"].to_numpy()
    assert tp.min() > 0.0 and tp.max() < 1.0


def test_current_is_the_last_row_of_the_window(btc_head: pl.DataFrame) -> None:
    detector = RegimeDetector()
    window = btc_head.slice(500, 256)
    state = detector.current(window)
    last = detect_regimes(window).row(-1, named=True)
    assert isinstance(state, RegimeState)
    assert state.name == last["regime"]
    assert state.confidence == last["regime_confidence"]
    assert state.transition_probability == last["regime_transition_probability"]
    assert state.scores == {name: last[f"score_{name}"] for name in REGIMES}
    assert detector.current(btc_head.head(detector.min_bars)).name in REGIMES


def test_current_rejects_a_short_window(btc_head: pl.DataFrame) -> None:
    detector = RegimeDetector()
    with pytest.raises(InsufficientDataError, match=f"at least {detector.min_bars}"):
        detector.current(btc_head.head(detector.min_bars - 1))


def test_short_and_empty_frames_are_all_warm_up(btc_head: pl.DataFrame) -> None:
    assert detect_regimes(btc_head.head(50))["regime"].null_count() == 50
    assert detect_regimes(btc_head.head(0)).height == 0


def test_zero_volume_and_flat_bars_do_not_break_scores() -> None:
    frame = synthetic.consolidation(seed=1).with_columns(
        pl.when(pl.int_range(pl.len()) % 7 == 0)
        .then(0.0)
        .otherwise(pl.col("volume"))
        .alias("volume")
    )
    out = detect_regimes(frame).drop_nulls()
    assert out.height == frame.height - RegimeDetector().min_bars + 1
    flat = frame.with_columns(
        *(pl.lit(100.0).alias(c) for c in ("open", "high", "low", "close")), volume=pl.lit(0.0)
    )
    flat_out = detect_regimes(flat).drop_nulls()
    assert flat_out.height > 0
    assert np.isfinite(flat_out.select(SCORE_COLUMNS).to_numpy()).all()


@pytest.mark.parametrize(
    ("change", "column", "reason"),
    [
        (lambda df: df.drop("volume"), "volume", "missing"),
        (lambda df: df.with_columns(pl.col("high").cast(pl.String)), "high", "numeric"),
        (
            lambda df: df.with_columns(
                pl.when(pl.int_range(pl.len()) == 17)
                .then(None)
                .otherwise(pl.col("close"))
                .alias("close")
            ),
            "close",
            "row 17",
        ),
        (lambda df: df.with_columns(pl.col("low") * 0.0), "low", "> 0"),
        (lambda df: df.with_columns(-pl.col("volume")), "volume", ">= 0"),
        (
            lambda df: df.with_columns(
                pl.when(pl.int_range(pl.len()) == 3)
                .then(np.inf)
                .otherwise(pl.col("high"))
                .alias("high")
            ),
            "high",
            "finite",
        ),
    ],
)
def test_bad_input_names_the_column_and_reason(change, column: str, reason: str) -> None:
    frame = change(synthetic.trend(seed=0))
    with pytest.raises(DataValidationError, match=reason) as info:
        detect_regimes(frame)
    assert info.value.column == column
