"""Where each strategy falls in its own exposure-matched random null (see ``null``).

Per symbol and pooled, over all bars of the period (no regime slices: too few bars per
slice for a stable null), for each cost: the strategy's Sharpe, the null's median and 95th
percentile, and the strategy's percentile in it; likewise for 3-class accuracy (which has no
cost). Pooled draws shuffle each symbol with its own permutations and combine them with the
same equal-weight book as the strategy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from models.evaluation import null
from models.evaluation.outcomes import Outcomes
from models.evaluation.pooling import Book
from models.evaluation.signals import Signals
from models.evaluation.strategy import net_returns, position_changes, sharpe_ratio
from models.evaluation.symbol_eval import SymbolResult
from models.evaluation.tables import POOLED, parts_of, strategy_names


def _accuracy_null(
    symbol: str, outcomes: Outcomes, signals: Signals, draws: int, seed: int
) -> tuple[float, np.ndarray, int]:
    """(observed hits, null hits per draw, labelled covered bars) of one symbol."""
    idx = np.flatnonzero(signals.covered)
    direction, label = signals.direction[idx], outcomes.label[idx]
    n_labelled = int(np.sum(~np.isnan(label)))
    observed = float(np.sum(direction + 1 == label))
    shuffles = null.run_shuffles(direction, draws, null.draw_rng(seed, symbol, signals.name, "acc"))
    return observed, null.shuffled_hits(direction, label, shuffles), n_labelled


def null_table(
    results: Sequence[SymbolResult],
    costs_bps: Sequence[float],
    draws: int = null.DEFAULT_DRAWS,
    seed: int = 0,
) -> pl.DataFrame:
    """Observed Sharpe / accuracy, null median and p95, and percentile, per strategy."""
    book = Book.of([r.outcomes.timestamps for r in results])
    symbols = [r.symbol for r in results]
    rows: list[dict[str, Any]] = []
    for name, kind in strategy_names(results):
        parts = parts_of(results, name)
        acc = [_accuracy_null(sym, o, s, draws, seed) for sym, o, s in parts]
        shuffles = [
            null.run_shuffles(s.position, draws, null.draw_rng(seed, sym, name, "position"))
            for sym, _, s in parts
        ]
        sub = Book(book.timeline, tuple(book.index[symbols.index(p[0])] for p in parts))
        drawn = [
            null.shuffled_parts(s.position, o.next_return, idx)
            for (_, o, s), idx in zip(parts, shuffles, strict=True)
        ]
        observed = [_gross_and_changes(s, o) for _, o, s in parts]
        pooled_null = [sub.mean_returns([d[k] for d in drawn]) for k in (0, 1)]
        pooled_obs = [sub.mean_returns([d[k] for d in observed]) for k in (0, 1)]
        hits: tuple[float, np.ndarray, int] = (
            sum(a[0] for a in acc),
            np.sum([a[1] for a in acc], axis=0),
            sum(a[2] for a in acc),
        )
        for cost in costs_bps:
            key = {"strategy": name, "kind": kind, "cost_bps": float(cost)}
            c = cost * 1e-4
            for (symbol, _, _), a, d, o in zip(parts, acc, drawn, observed, strict=True):
                sharpe = sharpe_ratio(o[0] - c * o[1])
                null_sharpes = null.sharpe_rows(d[0] - c * d[1])
                rows.append({**key, "symbol": symbol, **_row(sharpe, null_sharpes, *a)})
            sharpe = sharpe_ratio(pooled_obs[0] - c * pooled_obs[1])
            null_sharpes = null.sharpe_rows(pooled_null[0] - c * pooled_null[1])
            rows.append({**key, "symbol": POOLED, **_row(sharpe, null_sharpes, *hits)})
    return pl.DataFrame(rows)


def _gross_and_changes(signals: Signals, outcomes: Outcomes) -> tuple[np.ndarray, np.ndarray]:
    """The strategy's own (gross returns, position changes): its net return at zero cost."""
    zero = net_returns(signals.position, outcomes.next_return, 0.0)
    return zero, position_changes(signals.position)


def _row(
    sharpe: float, null_sharpe: np.ndarray, hits: float, null_hits: np.ndarray, n: int
) -> dict[str, float]:
    accuracy = hits / n if n else math.nan
    null_acc = null_hits / n if n else np.full(len(null_hits), np.nan)
    finite = null_sharpe[np.isfinite(null_sharpe)]
    return {
        "sharpe": sharpe,
        "null_sharpe_median": float(np.median(finite)) if finite.size else math.nan,
        "null_sharpe_p95": float(np.quantile(finite, 0.95)) if finite.size else math.nan,
        "sharpe_percentile": null.percentile(sharpe, null_sharpe),
        "accuracy": accuracy,
        "null_accuracy_median": float(np.median(null_acc)) if n else math.nan,
        "null_accuracy_p95": float(np.quantile(null_acc, 0.95)) if n else math.nan,
        "accuracy_percentile": null.percentile(accuracy, null_acc),
    }
