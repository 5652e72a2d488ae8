"""Is a strategy's ranking better than the service's, or only luckier? The IC difference with
its block-bootstrap uncertainty.

Member ICs are a few hundredths and the members' scores are strongly correlated, so two
pooled ICs a few thousandths apart can be the same ranking seen through different noise.
For every strategy that states probabilities, on the bars it and the service both scored
(covered, labelled, forward return defined), pooled over the symbols: its IC, the service's
IC on the same bars, the difference, and the difference's spread over moving-block
bootstrap draws (:mod:`models.evaluation.bootstrap`: blocks of a day resampled per symbol,
the same rows for both strategies, so the pairing and the overlap of 4-bar outcomes are
kept). ``p_value`` is two-sided: twice the share of draws on the far side of zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from models.evaluation.bootstrap import block_sample
from models.evaluation.symbol_eval import SymbolResult

DRAWS = 200
"""Bootstrap draws per strategy: enough for a standard error to two digits."""


@dataclass(frozen=True)
class _Paired:
    """One symbol's bars scored by both: the strategy's score, the service's, the return."""

    score: np.ndarray
    service: np.ndarray
    forward_return: np.ndarray


def _paired(result: SymbolResult, name: str, service: str) -> _Paired | None:
    by_name = {s.name: s for s in result.signals}
    mine, theirs = by_name.get(name), by_name.get(service)
    if mine is None or theirs is None:
        return None
    score, service_score = mine.score, theirs.score  # derived on each access: once here
    if score is None or service_score is None:
        return None
    fwd = result.outcomes.forward_return
    rows = (
        mine.covered
        & theirs.covered
        & result.outcomes.labelled
        & np.isfinite(fwd)
        & np.isfinite(score)
        & np.isfinite(service_score)
    )
    return _Paired(score[rows], service_score[rows], fwd[rows])


def _ic_pair(parts: Sequence[_Paired], picks: Sequence[np.ndarray]) -> tuple[float, float]:
    """Pooled Spearman ICs of the strategy and of the service on the picked rows: what
    :func:`models.evaluation.metrics.information_coefficient` computes, with the returns
    ranked once for both (this runs 2 x draws times per strategy)."""
    score = np.concatenate([p.score[i] for p, i in zip(parts, picks, strict=True)])
    service = np.concatenate([p.service[i] for p, i in zip(parts, picks, strict=True)])
    fwd = stats.rankdata(
        np.concatenate([p.forward_return[i] for p, i in zip(parts, picks, strict=True)])
    )
    if fwd.size < 3:
        return math.nan, math.nan
    return (
        float(np.corrcoef(stats.rankdata(score), fwd)[0, 1]),
        float(np.corrcoef(stats.rankdata(service), fwd)[0, 1]),
    )


def ic_difference_row(
    results: Sequence[SymbolResult], name: str, service: str, draws: int, seed: int
) -> dict[str, float | int | str] | None:
    """The row of :func:`ic_difference_table` for strategy ``name`` (None: no paired bars)."""
    parts = [p for r in results if (p := _paired(r, name, service)) is not None]
    bars = sum(p.score.size for p in parts)
    if bars < 3:
        return None
    ic, service_ic = _ic_pair(parts, [np.arange(p.score.size) for p in parts])
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(draws):
        mine, theirs = _ic_pair(parts, [block_sample(p.score.size, rng) for p in parts])
        diffs.append(mine - theirs)
    d = np.asarray(diffs)
    d = d[np.isfinite(d)]
    tail = min(float(np.mean(d <= 0)), float(np.mean(d >= 0))) if d.size else math.nan
    return {
        "strategy": name,
        "bars": bars,
        "ic": ic,
        "service_ic": service_ic,
        "minus_service": ic - service_ic,
        "difference_se": float(np.std(d, ddof=1)) if d.size > 1 else math.nan,
        "p_value": min(1.0, 2.0 * tail) if math.isfinite(tail) else math.nan,
    }


def ic_difference_table(
    results: Sequence[SymbolResult], service: str, draws: int = DRAWS, seed: int = 0
) -> pl.DataFrame:
    """One row per strategy with probabilities (the service's filtered twin left out: same
    score), pooled over the symbols, the service itself first (difference 0)."""
    names: list[str] = []
    for r in results:
        for s in r.signals:
            twin = s.kind == "ensemble" and s.name.endswith("_filtered")
            if s.probabilities is not None and not twin and s.name not in names:
                names.append(s.name)
    names.sort(key=lambda n: n != service)
    rows = [ic_difference_row(results, n, service, draws, seed) for n in names]
    return pl.DataFrame([r for r in rows if r is not None])
