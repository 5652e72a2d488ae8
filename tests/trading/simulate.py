"""Synthetic markets for the trading tests: random walks with a score that knows (or not)
the next ``h`` bars."""

from __future__ import annotations

import numpy as np

from models.labels import trailing_sigma
from models.trading.replay import Series

HOUR_MS = 3_600_000
START_MS = 1_672_531_200_000  # 2023-01-01 00:00 UTC


def market(
    seed: int,
    symbols: int = 3,
    bars: int = 1500,
    edge: float = 0.0,
    horizon: int = 4,
    sigma: float = 0.01,
    degraded: float = 0.0,
) -> list[Series]:
    """``symbols`` random walks of ``bars`` hourly bars (1-bar log-return std ``sigma``);
    each bar's score has correlation ``edge`` with the scaled forward ``horizon``-bar return
    (0: outcomes independent of the score) and is NaN (degraded) with probability ``degraded``."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(symbols):
        steps = rng.normal(0.0, sigma, bars + horizon)
        close = 100.0 * np.exp(np.cumsum(steps))
        forward = np.array([steps[i + 1 : i + 1 + horizon].sum() for i in range(bars)])
        noise = rng.normal(0.0, 1.0, bars)
        score = edge * forward / (sigma * np.sqrt(horizon)) + np.sqrt(1 - edge**2) * noise
        score = np.where(rng.random(bars) < degraded, np.nan, score)
        out.append(
            Series(
                symbol=f"S{k}USDT",
                bar_ms=START_MS + HOUR_MS * np.arange(bars, dtype=np.int64),
                close=close[:bars],
                score=score,
                sigma=trailing_sigma(close[:bars], 48),
            )
        )
    return out
