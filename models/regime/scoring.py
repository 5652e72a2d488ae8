"""The seven regime scores: soft conditions on the measurements, combined by product.

The formulas are documented in ``models.regime.detector``. Each condition is a logistic in
[0, 1] that is half on at its configured threshold, so a score moves smoothly as the market
drifts across a threshold instead of flipping, and the best-minus-runner-up margin (the
confidence) carries information about how clear-cut the regime is.
"""

from __future__ import annotations

import numpy as np

from models.regime.config import RegimeConfig
from models.regime.inputs import RegimeInputs
from models.regime.state import REGIMES


def soft_above(x: np.ndarray, threshold: float, softness: float) -> np.ndarray:
    """Logistic ``1 / (1 + exp(-(x - threshold) / softness))``, written with tanh (no overflow)."""
    with np.errstate(invalid="ignore"):
        return 0.5 * (1.0 + np.tanh((x - threshold) / (2.0 * softness)))


def direction(inputs: RegimeInputs, config: RegimeConfig) -> np.ndarray:
    """Agreement of DI balance, regression slope and momentum, in [-1, 1]."""
    slope = np.tanh(inputs.slope_z / config.slope_scale)
    momentum = np.tanh(inputs.momentum_z / config.momentum_scale)
    return (inputs.di_balance + slope + momentum) / 3.0


def regime_scores(inputs: RegimeInputs, config: RegimeConfig) -> np.ndarray:
    """Scores of shape ``(bars, 7)`` in ``REGIMES`` order, each in [0, 1] (NaN in warm-up)."""
    c = config
    trend = soft_above(inputs.adx, c.adx_trend, c.adx_softness)
    ranging_adx = 1.0 - soft_above(inputs.adx, c.adx_range, c.adx_softness)
    squeeze = 1.0 - soft_above(inputs.width_rank, c.squeeze_percentile, c.percentile_softness)
    expansion = soft_above(inputs.width_rank, c.expansion_percentile, c.percentile_softness)
    hot = soft_above(inputs.atr_rank, c.volatile_percentile, c.percentile_softness)
    recent_squeeze = 1.0 - soft_above(
        inputs.recent_width_rank, c.squeeze_percentile, c.percentile_softness
    )
    spike = soft_above(inputs.volume_ratio, c.volume_spike, c.volume_softness)
    up_break = soft_above(inputs.break_up, c.breakout_atr, c.breakout_softness)
    down_break = soft_above(inputs.break_down, c.breakout_atr, c.breakout_softness)

    u = direction(inputs, config)
    flat = 1.0 - np.abs(u)
    directional = trend * np.abs(u)
    calm = 1.0 - hot
    escape = np.maximum(up_break, down_break) * spike

    by_name = {
        "trending_bullish": trend * np.clip(u, 0.0, None),
        "trending_bearish": trend * np.clip(-u, 0.0, None),
        "ranging": ranging_adx * flat * (1.0 - squeeze) * calm,
        "volatile": 0.5 * (hot + expansion) * (1.0 - directional),
        "breakout_bullish": recent_squeeze * up_break * spike,
        "breakout_bearish": recent_squeeze * down_break * spike,
        "consolidation": squeeze * calm * (1.0 - directional) * (1.0 - escape),
    }
    scores = np.column_stack([by_name[name] for name in REGIMES])
    clipped: np.ndarray = np.clip(scores, 0.0, 1.0)
    return clipped
