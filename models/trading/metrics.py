"""The numbers a trader asks of a book: return, Sharpe, drawdown, turnover, trades, edge.

All from the book's own equity history (one point per bar, after its fills and marks)
and its fills, so the live ``/v1/portfolio`` and the evaluation's ``book.csv`` are the
same arithmetic. Per-bar returns start from the initial cash, so the first bar's costs
count. Sharpe is annualised with the bars of a year at the book's interval (8,760 hourly
bars: crypto trades around the clock); a book that never held a position has no Sharpe
(NaN), not a Sharpe of 0. ``p_value`` is the one-sided moving-block bootstrap p-value of
the mean net return per closed trade (:func:`models.trading.certificate.bootstrap_pvalue`),
trades in the order they closed, stated from :data:`MIN_TRADES_P` trades on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.trading.book import EquityPoint, Fill
from models.trading.certificate import bootstrap_pvalue

YEAR_MS = 365 * 24 * 3600 * 1000
MIN_TRADES_P = 10
"""Closed trades below which no p-value is stated (a bootstrap of 2 trades says nothing)."""


def periods_per_year(step_ms: int) -> float:
    """Bars of ``step_ms`` in a 365-day year."""
    return YEAR_MS / step_ms


def equity_returns(points: Sequence[EquityPoint], initial: float) -> np.ndarray:
    """Per-bar simple returns of the equity, the first from ``initial``."""
    equity = np.array([initial, *(p.equity for p in points)], float)
    out: np.ndarray = equity[1:] / equity[:-1] - 1.0
    return out


def sharpe(returns: np.ndarray, per_year: float) -> float:
    """``mean / std * sqrt(per_year)`` (population std); NaN when undefined."""
    if returns.size < 2:
        return math.nan
    std = float(np.std(returns))
    return float(np.mean(returns) / std * math.sqrt(per_year)) if std > 1e-15 else math.nan


def max_drawdown(values: Sequence[float]) -> float:
    """Largest peak-to-trough fall of ``values`` as a positive fraction."""
    equity = np.asarray(values, float)
    if equity.size == 0:
        return 0.0
    peak = np.maximum.accumulate(equity)
    return float(np.max(1.0 - equity / peak))


def trade_returns(fills: Sequence[Fill]) -> np.ndarray:
    """Net return (bps) of every closed round trip, in the order they closed."""
    return np.array([f.net_return_bps for f in fills if f.net_return_bps is not None], float)


def book_summary(
    points: Sequence[EquityPoint],
    fills: Sequence[Fill],
    initial: float,
    step_ms: int,
    draws: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Net return, Sharpe, max drawdown, turnover, exposure, trades and the mean net
    return per trade with its p-value (module docstring)."""
    returns = equity_returns(points, initial)
    held = float(np.mean([p.gross > 0 for p in points])) if points else 0.0
    trades = trade_returns(fills)
    rng = np.random.default_rng(seed)
    return {
        "net_return": float(points[-1].equity / initial - 1.0) if points else 0.0,
        "sharpe": sharpe(returns, periods_per_year(step_ms)) if held > 0 else math.nan,
        "max_drawdown": max_drawdown([initial, *(p.equity for p in points)]),
        "turnover": float(np.mean([p.traded for p in points])) if points else 0.0,
        "exposure": held,
        "trades": int(trades.size),
        "mean_trade_bps": float(np.mean(trades)) if trades.size else math.nan,
        "p_value": bootstrap_pvalue(trades, draws, rng)
        if trades.size >= MIN_TRADES_P
        else math.nan,
        "bars": len(points),
    }


def benchmark_summary(
    points: Sequence[EquityPoint], initial: float, step_ms: int
) -> dict[str, Any]:
    """Net return, Sharpe and drawdown of the points' buy-and-hold ``benchmark``."""
    values = [initial, *(p.benchmark for p in points if p.benchmark is not None)]
    equity = np.asarray(values, float)
    returns = equity[1:] / equity[:-1] - 1.0
    return {
        "net_return": float(equity[-1] / initial - 1.0),
        "sharpe": sharpe(returns, periods_per_year(step_ms)),
        "max_drawdown": max_drawdown(values),
    }
