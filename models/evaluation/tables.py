"""Score every strategy per symbol, pooled, and per regime: the report's CSV tables.

Rows are keyed by ``strategy`` (its name), ``kind`` (predictor / ensemble / baseline),
``symbol`` (a symbol or :data:`POOLED`) and ``regime`` (``all`` or a regime name: the
regime detected at the bar the signal was issued). Pooling is described in
:mod:`models.evaluation.pooling`. A strategy missing for a symbol (no trained network)
is pooled over the symbols that have it; ``symbols`` says how many.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import polars as pl

from models.evaluation.calibration import accuracy_by_quantile, reliability_curve
from models.evaluation.outcomes import Outcomes
from models.evaluation.pooling import Book, concat_outcomes, concat_signals
from models.evaluation.ranking import score_deciles
from models.evaluation.scoring import classification_scores
from models.evaluation.signals import Signals
from models.evaluation.strategy import (
    held_summary,
    net_returns,
    position_changes,
    strategy_summary,
)
from models.evaluation.symbol_eval import SymbolResult
from models.regime.state import REGIMES

POOLED = "POOLED"
SLICES: tuple[str, ...] = ("all", *REGIMES)


def strategy_names(results: Sequence[SymbolResult]) -> list[tuple[str, str]]:
    """``(name, kind)`` of every strategy in any symbol, in first-seen order."""
    seen: dict[str, str] = {}
    for result in results:
        for s in result.signals:
            seen.setdefault(s.name, s.kind)
    return list(seen.items())


def parts_of(results: Sequence[SymbolResult], name: str) -> list[tuple[str, Outcomes, Signals]]:
    """``(symbol, outcomes, signals)`` of strategy ``name`` in each symbol that has it."""
    out = []
    for r in results:
        for s in r.signals:
            if s.name == name:
                out.append((r.symbol, r.outcomes, s))
    return out


def slices(outcomes: Outcomes) -> Iterator[tuple[str, np.ndarray]]:
    """``("all", every bar)`` then one mask per regime that occurs."""
    yield "all", np.ones(len(outcomes), bool)
    for regime in REGIMES:
        mask = outcomes.regime == regime
        if mask.any():
            yield regime, mask


def classification_table(results: Sequence[SymbolResult]) -> pl.DataFrame:
    """Forecast metrics (:mod:`models.evaluation.scoring`) per strategy, symbol and regime."""
    rows: list[dict[str, Any]] = []
    for name, kind in strategy_names(results):
        parts = parts_of(results, name)
        pooled = (
            POOLED,
            concat_outcomes([p[1] for p in parts]),
            concat_signals([p[2] for p in parts]),
        )
        for symbol, outcomes, signals in [*parts, pooled]:
            for regime, mask in slices(outcomes):
                key = {"strategy": name, "kind": kind, "symbol": symbol, "regime": regime}
                count = len(parts) if symbol == POOLED else 1
                rows.append(
                    {**key, "symbols": count, **classification_scores(signals, outcomes, mask)}
                )
    return pl.DataFrame(rows)


def strategy_table(results: Sequence[SymbolResult], costs_bps: Sequence[float]) -> pl.DataFrame:
    """Trading metrics after each cost, per strategy, symbol (and pooled book) and regime."""
    book = Book.of([r.outcomes.timestamps for r in results])
    symbols = [r.symbol for r in results]
    rows: list[dict[str, Any]] = []
    for name, kind in strategy_names(results):
        parts = parts_of(results, name)
        for cost in costs_bps:
            key = {"strategy": name, "kind": kind, "cost_bps": float(cost)}
            for symbol, outcomes, signals in parts:
                for regime, mask in slices(outcomes):
                    summary = strategy_summary(signals.position, outcomes.next_return, cost, mask)
                    rows.append({**key, "symbol": symbol, "regime": regime, **summary})
            rows += _pooled_rows(key, book, symbols, parts, cost)
    return pl.DataFrame(rows)


def _pooled_rows(
    key: dict[str, Any],
    book: Book,
    symbols: list[str],
    parts: list[tuple[str, Outcomes, Signals]],
    cost: float,
) -> list[dict[str, Any]]:
    """The equal-weight book of ``parts`` in every slice (positions of absent symbols: none)."""
    sub = Book(book.timeline, tuple(book.index[symbols.index(p[0])] for p in parts))
    returns = [net_returns(s.position, o.next_return, cost) for _, o, s in parts]
    changes = np.concatenate([position_changes(s.position) for _, _, s in parts])
    positions = np.concatenate([s.position for _, _, s in parts])
    pooled_outcomes = concat_outcomes([o for _, o, _ in parts])
    rows = []
    for regime, mask in slices(pooled_outcomes):
        masks = np.split(mask, np.cumsum([len(o) for _, o, _ in parts])[:-1])
        summary = held_summary(sub.mean_returns(returns, masks), changes[mask], positions[mask])
        rows.append({**key, "symbol": POOLED, "regime": regime, **summary})
    return rows


def calibration_table(results: Sequence[SymbolResult], n_bins: int = 10) -> pl.DataFrame:
    """Pooled reliability bins (probability of the predicted class) and confidence deciles.

    ``curve`` is ``reliability`` (equal-width bins of the top probability, correct = the
    argmax class happened) or ``confidence_decile`` (quantile bins of the strategy's own
    confidence, correct = its direction's class happened), per regime slice.
    """
    rows: list[dict[str, Any]] = []
    for name, kind in strategy_names(results):
        parts = parts_of(results, name)
        signals = concat_signals([p[2] for p in parts])
        probabilities, confidence = signals.probabilities, signals.confidence
        if probabilities is None or confidence is None:
            continue
        outcomes = concat_outcomes([p[1] for p in parts])
        for regime, mask in slices(outcomes):
            use = mask & signals.covered & outcomes.labelled
            label = outcomes.label[use].astype(np.int64)
            probs = probabilities[use]
            curves = {
                "reliability": reliability_curve(
                    probs.max(axis=1), probs.argmax(axis=1) == label, n_bins
                ),
                "confidence_decile": accuracy_by_quantile(
                    confidence[use], signals.direction[use] + 1 == label, n_bins
                ),
            }
            for curve, bins in curves.items():
                for i in range(len(bins.count)):
                    rows.append(
                        {
                            "strategy": name,
                            "kind": kind,
                            "regime": regime,
                            "curve": curve,
                            "bin": i,
                            "lower": float(bins.lower[i]),
                            "upper": float(bins.upper[i]),
                            "count": int(bins.count[i]),
                            "mean_value": float(bins.mean_value[i]),
                            "accuracy": float(bins.accuracy[i]),
                        }
                    )
    return pl.DataFrame(rows)


def score_decile_table(results: Sequence[SymbolResult], n_bins: int = 10) -> pl.DataFrame:
    """Pooled, every regime: per strategy with probabilities (the ``_filtered`` copy of an
    ensemble left out: same probabilities) and decile of its score ``P(up) - P(down)``, the
    3-class accuracy and the mean forward log return, with the Spearman correlation of
    decile with each (``rho_accuracy``, ``rho_return``, repeated on the strategy's rows)."""
    rows: list[dict[str, Any]] = []
    for name, kind in strategy_names(results):
        if name.endswith("_filtered"):
            continue
        parts = parts_of(results, name)
        signals = concat_signals([p[2] for p in parts])
        score = signals.score
        if score is None:
            continue
        outcomes = concat_outcomes([p[1] for p in parts])
        use = signals.covered & outcomes.labelled
        correct = signals.direction[use] + 1 == outcomes.label[use]
        deciles, rho_acc, rho_ret = score_deciles(
            score[use], correct, outcomes.forward_return[use], n_bins
        )
        for d in deciles:
            rows.append(
                {
                    "strategy": name,
                    "kind": kind,
                    **d,
                    "rho_accuracy": rho_acc,
                    "rho_return": rho_ret,
                }
            )
    return pl.DataFrame(rows)
