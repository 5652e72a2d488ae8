"""The analyzer's frame contract, its input checks, and prefix-replay causality on real data."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from models.errors import ConfigError, DataValidationError
from models.features.indicators import atr
from models.smc import SMC_COLUMNS, SmcConfig, analyze_smc
from tests.causality import assert_prefix_causal
from tests.smc.smc_frames import candles

PREFIXES = (100, 500, 2000, 8000)


def _walk(n: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    wick = np.abs(rng.normal(0, 0.005, (2, n))) * close
    high = np.maximum(open_, close) + wick[0]
    low = np.minimum(open_, close) - wick[1]
    return candles(list(zip(open_, high, low, close, strict=True)))


def test_one_row_per_bar_with_documented_columns() -> None:
    frame = _walk(300)
    out = analyze_smc(frame)
    assert out.height == frame.height
    assert out.columns == ["timestamp", *SMC_COLUMNS]
    assert out["timestamp"].equals(frame["timestamp"])


def test_without_timestamp_and_empty_frames() -> None:
    frame = _walk(50).drop("timestamp", "volume")
    assert analyze_smc(frame).columns == list(SMC_COLUMNS)
    assert analyze_smc(frame.head(0)).height == 0
    assert analyze_smc(frame.head(1)).height == 1


def test_state_counts_match_events() -> None:
    out = analyze_smc(_walk(3000, seed=3), SmcConfig(max_lookback=10_000, max_active=10_000))
    for kind in ("ob", "fvg"):
        for side in ("bull", "bear"):
            created = out[f"{kind}_{side}_new_top"].is_not_nan().cast(pl.Int64).cum_sum()
            gone = out[f"{kind}_{side}_{'mitigated' if kind == 'ob' else 'filled'}"].cum_sum()
            assert (created - gone).equals(
                out[f"{kind}_{side}_active"].cast(pl.Int64), check_names=False
            )


def test_reuses_an_atr_column() -> None:
    frame = _walk(400, seed=1)
    base = analyze_smc(frame, SmcConfig(equal_tolerance_atr=0.5))
    with_atr = frame.with_columns(
        pl.Series("atr_14", atr(*(frame[c].to_numpy() for c in ("high", "low", "close")), 14))
    )
    same = analyze_smc(with_atr, SmcConfig(equal_tolerance_atr=0.5))
    assert same.drop("timestamp").equals(base.drop("timestamp"))
    assert base["equal_high_level"].is_not_nan().sum() > 0
    huge = frame.with_columns(pl.lit(1e9).alias("atr_14"))
    assert (
        analyze_smc(huge)["equal_high_level"].is_not_nan().sum()
        > base["equal_high_level"].is_not_nan().sum()
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda f: f.drop("close"), ["close", "missing"]),
        (lambda f: f.with_columns(pl.lit("x").alias("high")), ["high", "numeric"]),
        (
            lambda f: f.with_columns(
                pl.when(pl.int_range(pl.len()) == 7)
                .then(None)
                .otherwise(pl.col("low"))
                .alias("low")
            ),
            ["row 7", "low", "null"],
        ),
        (
            lambda f: f.with_columns(
                pl.when(pl.int_range(pl.len()) == 3)
                .then(math.inf)
                .otherwise(pl.col("open"))
                .alias("open")
            ),
            ["row 3", "open", "infinite"],
        ),
        (
            lambda f: f.with_columns(pl.col("low").alias("high"), pl.col("high").alias("low")),
            ["row 0", "high", "below low"],
        ),
    ],
)
def test_bad_frames_raise_naming_the_field(change, words) -> None:
    with pytest.raises(DataValidationError) as err:
        analyze_smc(change(_walk(20)))
    for word in words:
        assert word in str(err.value)


def test_not_a_frame() -> None:
    with pytest.raises(DataValidationError, match="polars DataFrame"):
        analyze_smc({"close": [1.0]})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"swing_length": 0}, "swing_length"),
        ({"atr_length": 2.5}, "atr_length"),
        ({"equal_tolerance_atr": -0.1}, "equal_tolerance_atr"),
        ({"fvg_min_size_atr": math.nan}, "fvg_min_size_atr"),
        ({"max_lookback": 0}, "max_lookback"),
        ({"max_active": True}, "max_active"),
        ({"ob_search_bars": "3"}, "ob_search_bars"),
    ],
)
def test_bad_config_raises_naming_the_field(kwargs, field) -> None:
    with pytest.raises(ConfigError, match=f"SmcConfig.{field}"):
        SmcConfig(**kwargs)


def test_config_must_be_smc_config() -> None:
    with pytest.raises(ConfigError, match="config"):
        analyze_smc(_walk(20), {"swing_length": 3})  # type: ignore[arg-type]


@pytest.mark.parametrize("symbol", ["BTCUSDT", "ETHUSDT"])
def test_prefix_causal_on_real_data(real_candles, symbol: str) -> None:
    frame = real_candles(symbol)
    assert_prefix_causal(analyze_smc, frame, PREFIXES, SMC_COLUMNS)


def test_prefix_causal_with_tight_bounds(real_candles) -> None:
    """Expiry and the max-active caps are state too: they must replay the same."""
    cfg = SmcConfig(swing_length=3, max_lookback=40, max_active=2, fvg_min_size_atr=0.2)
    frame = real_candles("SOLUSDT").head(8000)
    assert_prefix_causal(lambda f: analyze_smc(f, cfg), frame, (100, 777, 3000), SMC_COLUMNS)


def test_prefix_causal_at_every_cut_of_a_real_window(btc) -> None:
    """Every cut, not only a few: a look-ahead of a few bars shows up only near the cut."""
    frame = btc.slice(5000, 300)
    assert_prefix_causal(analyze_smc, frame, range(60, 300), SMC_COLUMNS)
