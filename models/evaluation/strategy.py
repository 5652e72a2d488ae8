"""A signal-following strategy after costs, and the numbers a trader would ask about it.

Position rule (documented once, used for every strategy and baseline):

- the position held over bar ``t -> t + 1`` is ``p_t`` in {-1, 0, +1}: the direction of the
  signal issued at the close of bar ``t`` when it is actionable, else 0 (flat). The signal
  uses bars ``<= t`` only, so the return it earns, ``close[t+1] / close[t] - 1``, is wholly
  in its future;
- every change of position costs ``cost_bps`` basis points per unit changed, charged on bar
  ``t``: ``|p_t - p_{t-1}|`` (flipping long to short is 2 units); the position before the
  first bar is 0, so entering the first position is paid too;
- the net return of bar ``t`` is ``p_t * (close[t+1] / close[t] - 1) - cost * |p_t - p_{t-1}|``
  and equity compounds these returns.

Annualisation uses :data:`BARS_PER_YEAR` hourly bars (crypto trades around the clock).
"""

from __future__ import annotations

import math

import numpy as np

BARS_PER_YEAR = 8760
"""Hourly bars in a year of 24/7 trading."""


def position_changes(position: np.ndarray) -> np.ndarray:
    """``|p_t - p_{t-1}|`` per bar, with the position before the first bar taken as 0."""
    position = np.asarray(position, float)
    return np.abs(np.diff(position, prepend=0.0))


def net_returns(position: np.ndarray, next_return: np.ndarray, cost_bps: float) -> np.ndarray:
    """Per-bar strategy return after costs (see the module docstring).

    ``next_return[t]`` is the simple return from the close of ``t`` to the close of ``t+1``;
    a NaN there (the last bar) earns nothing but the position change is still paid.
    """
    position = np.asarray(position, float)
    gross = position * np.nan_to_num(np.asarray(next_return, float), nan=0.0)
    net: np.ndarray = gross - cost_bps * 1e-4 * position_changes(position)
    return net


def total_return(returns: np.ndarray) -> float:
    """Compounded return of a series of per-bar returns (0 for an empty series)."""
    returns = np.asarray(returns, float)
    return float(np.prod(1.0 + returns) - 1.0) if returns.size else 0.0


def sharpe_ratio(returns: np.ndarray, periods_per_year: int = BARS_PER_YEAR) -> float:
    """Annualised Sharpe: ``mean / std * sqrt(periods_per_year)`` (population std, no rf).

    NaN for fewer than 2 returns or a constant series (a strategy that never trades has no
    Sharpe, not a Sharpe of 0).
    """
    returns = np.asarray(returns, float)
    if returns.size < 2:
        return math.nan
    std = float(np.std(returns))
    if std <= 1e-15:
        return math.nan
    return float(np.mean(returns) / std * math.sqrt(periods_per_year))


def max_drawdown(returns: np.ndarray) -> float:
    """Largest peak-to-trough fall of compounded equity, as a positive fraction (0..1).

    Equity starts at 1 before the first return, so a loss on the first bar counts.
    """
    returns = np.asarray(returns, float)
    if returns.size == 0:
        return 0.0
    equity = np.concatenate([[1.0], np.cumprod(1.0 + returns)])
    peak = np.maximum.accumulate(equity)
    return float(np.max(1.0 - equity / peak))


def turnover(position: np.ndarray) -> float:
    """Mean position change per bar (units of notional traded per bar)."""
    position = np.asarray(position, float)
    return float(np.mean(position_changes(position))) if position.size else 0.0


def exposure(position: np.ndarray) -> float:
    """Share of bars with a non-zero position."""
    position = np.asarray(position, float)
    return float(np.mean(position != 0)) if position.size else 0.0


def annualised_return(returns: np.ndarray, periods_per_year: int = BARS_PER_YEAR) -> float:
    """Compounded return scaled to a year: ``(1 + R) ** (periods_per_year / n) - 1``."""
    returns = np.asarray(returns, float)
    if returns.size == 0:
        return math.nan
    growth = 1.0 + total_return(returns)
    if growth <= 0.0:
        return -1.0
    return float(growth ** (periods_per_year / returns.size) - 1.0)


def strategy_summary(
    position: np.ndarray,
    next_return: np.ndarray,
    cost_bps: float,
    mask: np.ndarray | None = None,
) -> dict[str, float]:
    """Return, annualised return, Sharpe, max drawdown, turnover and exposure after costs.

    Returns and costs are computed over the whole series first; ``mask`` then selects the
    bars summarised (a regime slice), so a position change is charged to the bar it happens
    on even when the previous bar is outside the slice.
    """
    returns = net_returns(position, next_return, cost_bps)
    changes = position_changes(position)
    position = np.asarray(position, float)
    if mask is not None:
        mask = np.asarray(mask, bool)
        returns, changes, position = returns[mask], changes[mask], position[mask]
    return held_summary(returns, changes, position)


def held_summary(
    returns: np.ndarray, changes: np.ndarray, position: np.ndarray
) -> dict[str, float]:
    """:func:`returns_summary` plus turnover and exposure of already-selected bars.

    Bars without any position have no Sharpe (NaN), even if a position closed on them cost
    something: a slice where the strategy never holds says nothing about its risk-return.
    """
    summary = returns_summary(returns)
    held = exposure(position)
    if held == 0.0:
        summary["sharpe"] = math.nan
    return {
        **summary,
        "turnover": float(np.mean(changes)) if changes.size else 0.0,
        "exposure": held,
    }


def returns_summary(returns: np.ndarray) -> dict[str, float]:
    """Total and annualised return, Sharpe and max drawdown of per-bar net returns."""
    return {
        "total_return": total_return(returns),
        "annual_return": annualised_return(returns),
        "sharpe": sharpe_ratio(returns),
        "max_drawdown": max_drawdown(returns),
    }
