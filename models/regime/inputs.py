"""The per-bar market measurements the regime scores are built from.

Kept apart from the scoring rules so the measurements (all causal, all in units that compare
across symbols: ADX points, percentile ranks, ATR multiples, volume ratios) can be inspected
and tested on their own, and the rules read as plain arithmetic on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from models.features.indicators import atr, bollinger, dmi
from models.regime.config import RegimeConfig
from models.regime.rolling import (
    lagged_difference,
    prior_max,
    prior_median,
    prior_min,
    regression_slope,
    trailing_rank,
)


@dataclass(frozen=True)
class RegimeInputs:
    """Measurements per bar (NaN during warm-up); see ``models.regime.detector`` for use."""

    adx: np.ndarray
    di_balance: np.ndarray  # (+DI - -DI) / (+DI + -DI), in [-1, 1]
    atr_rank: np.ndarray  # trailing percentile rank of ATR / close
    width_rank: np.ndarray  # trailing percentile rank of Bollinger width / middle
    recent_width_rank: np.ndarray  # lowest width rank over the squeeze lookback before the bar
    slope_z: np.ndarray  # regression drift of log close over the slope period, in ATR units
    momentum_z: np.ndarray  # log return over the momentum period, in ATR units
    volume_ratio: np.ndarray  # volume / median volume of the bars before
    break_up: np.ndarray  # (close - prior channel high) / ATR
    break_down: np.ndarray  # (prior channel low - close) / ATR


def warmup_bars(config: RegimeConfig) -> int:
    """Index of the first bar at which every measurement is defined.

    Indicator lookbacks follow TA-Lib (ADX ``2p - 1``, ATR ``p``, Bollinger ``p - 1``); a
    trailing rank adds its window, the recent-squeeze minimum its lookback.
    """
    atr_ready = config.atr_period
    width_rank_ready = config.bb_period - 1 + config.bb_width_percentile_window - 1
    return max(
        2 * config.adx_period - 1,
        atr_ready + config.bb_width_percentile_window - 1,
        width_rank_ready + config.squeeze_lookback,
        max(config.slope_period - 1, config.momentum_period, atr_ready),
        config.volume_period,
        config.breakout_period,
    )


def measure(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    config: RegimeConfig,
    indicators: Mapping[str, np.ndarray] | None = None,
) -> RegimeInputs:
    """Compute every measurement the regime scores use, for every bar.

    ``indicators``: :func:`models.features.indicators.indicator_arrays` of the same candles,
    when the caller has them: its DMI, ATR and Bollinger columns are reused where their
    periods are the configured ones (the same functions on the same prices)."""
    plus_di, minus_di, adx, true_range, bands = _standard(high, low, close, config, indicators)
    upper, middle, lower = bands
    di_sum = plus_di + minus_di
    with np.errstate(invalid="ignore", divide="ignore"):
        di_balance = np.where(di_sum > 0, (plus_di - minus_di) / di_sum, 0.0)
    di_balance[np.isnan(di_sum)] = np.nan

    atr_rel = true_range / close
    window = config.bb_width_percentile_window
    width_rank = trailing_rank((upper - lower) / middle, window)

    log_close = np.log(close)
    slope_scale = atr_rel * np.sqrt(config.slope_period)
    slope_move = regression_slope(log_close, config.slope_period) * config.slope_period
    momentum_move = lagged_difference(log_close, config.momentum_period)

    return RegimeInputs(
        adx=adx,
        di_balance=di_balance,
        atr_rank=trailing_rank(atr_rel, window),
        width_rank=width_rank,
        recent_width_rank=prior_min(width_rank, config.squeeze_lookback),
        slope_z=_safe_ratio(slope_move, slope_scale),
        momentum_z=_safe_ratio(momentum_move, atr_rel * np.sqrt(config.momentum_period)),
        volume_ratio=_volume_ratio(volume, config.volume_period),
        break_up=_safe_ratio(close - prior_max(high, config.breakout_period), true_range),
        break_down=_safe_ratio(prior_min(low, config.breakout_period) - close, true_range),
    )


def _standard(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    config: RegimeConfig,
    given: Mapping[str, np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """(+DI, -DI, ADX, ATR, Bollinger bands), from ``given`` where the periods match."""
    c = config
    if given is not None and c.adx_period == 14:
        plus_di, minus_di, adx = given["plus_di_14"], given["minus_di_14"], given["adx_14"]
    else:
        plus_di, minus_di, adx = dmi(high, low, close, c.adx_period)
    if given is not None and c.atr_period == 14:
        true_range = given["atr_14"]
    else:
        true_range = atr(high, low, close, c.atr_period)
    if given is not None and (c.bb_period, c.bb_std) == (20, 2.0):
        bands = (given["bb_upper"], given["bb_middle"], given["bb_lower"])
    else:
        bands = bollinger(close, c.bb_period, c.bb_std)
    return plus_di, minus_di, adx, true_range, bands


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with a zero denominator read as 'no move' (0) rather than inf/NaN.

    A zero ATR only happens on a perfectly flat stretch, where nothing has moved either.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / den, 0.0)
    out[np.isnan(num) | np.isnan(den)] = np.nan
    return out


def _volume_ratio(volume: np.ndarray, period: int) -> np.ndarray:
    """Volume over the median of the bars before; a zero median counts any volume as a spike."""
    median = prior_median(volume, period)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(median > 0, volume / median, np.where(volume > 0, np.inf, 1.0))
    ratio[np.isnan(median)] = np.nan
    return ratio
