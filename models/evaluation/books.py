"""The live book replayed over the evaluation period: ``book.csv``.

Every scorer is traded by the trading layer's own desk (:mod:`models.trading`), the code
the service runs on every closed bar, at each round-trip cost of ``book_costs_bps``:

- scorers: the service's ensemble (its score: ``P(up) - P(down)`` of its unfiltered
  signal, none where degraded), every member, and ``members_mean`` (the replay's
  equal-weight baseline: each trained member's score standardized causally, then averaged,
  :data:`models.evaluation.replay.MEMBERS_MEAN`);
- ``POOLED``: one desk over every symbol that has the scorer (the service's setting);
  a symbol row: that symbol traded alone with the pooled desk's estimates;
- both books: ``shadow`` (every trade the rule proposes) and ``paper`` (certified only);
- ``buy_and_hold`` (book ``hold``): equal weights in ``POOLED``, the whole equity alone,
  bought at the first bar through the same book and costs;
- ``<service>_per_bar`` (book ``per_bar``): the rule the report's other tables use, a
  position in the direction of every eligible signal re-decided each bar, through the
  same book: what the old rule costs when fills and fees are real.

Columns: ``strategy, book, symbol, cost_bps`` and :func:`models.trading.metrics.book_summary`
(``net_return, sharpe, max_drawdown, turnover, exposure, trades, mean_trade_bps, p_value,
bars``). Strategies run in worker processes (``jobs``).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from models.evaluation.replay import MEMBERS_MEAN
from models.evaluation.symbol_eval import SymbolResult
from models.trading import PAPER, SHADOW, TradingSettings
from models.trading.metrics import book_summary
from models.trading.replay import Run, Series, follow_targets, replay, replay_with

POOLED = "POOLED"
BUY_AND_HOLD = "buy_and_hold"


@dataclass(frozen=True)
class BookJob:
    """One strategy's books at every cost (picklable: it crosses processes)."""

    strategy: str
    kind: str
    """``desk`` (a scorer traded by the rule), ``hold`` or ``per_bar``."""
    series: tuple[Series, ...]
    settings: TradingSettings
    costs: tuple[float, ...]
    step_ms: int
    draws: int
    seed: int
    weights: tuple[np.ndarray, ...] = ()
    """``hold`` / ``per_bar``: the wanted weight of each series at each bar."""


def _series(result: SymbolResult, score: np.ndarray) -> Series:
    stamps = np.asarray(result.outcomes.timestamps).astype("datetime64[ms]").astype(np.int64)
    return Series(result.symbol, stamps, result.prices["close"], score, result.prices["sigma"])


def _signals(result: SymbolResult, name: str) -> Any:
    return next((s for s in result.signals if s.name == name), None)


def _scores(result: SymbolResult, name: str) -> np.ndarray | None:
    signals = _signals(result, name)
    if signals is None or signals.score is None:
        return None
    score: np.ndarray = np.where(signals.covered, signals.score, np.nan)
    return score


def scorer_jobs(
    results: Sequence[SymbolResult],
    service: str,
    members: Sequence[str],
    base: dict[str, Any],
) -> list[BookJob]:
    """A desk job for the service's signal, ``members_mean`` and each member."""
    scorers = [
        (service, f"{service}_unfiltered"),
        (MEMBERS_MEAN.name, MEMBERS_MEAN.name),
        *((m, m) for m in members),
    ]
    jobs = []
    for strategy, name in scorers:
        series = []
        for r in results:
            score = _scores(r, name)
            if score is not None:
                series.append(_series(r, score))
        if series:
            jobs.append(BookJob(strategy, "desk", tuple(series), **base))
    return jobs


def target_jobs(
    results: Sequence[SymbolResult], service: str, base: dict[str, Any]
) -> list[BookJob]:
    """Buy-and-hold and the old per-bar rule of the service's unfiltered signals."""
    series = tuple(_series(r, np.full(len(r.outcomes), np.nan)) for r in results)
    hold = tuple(np.ones(len(r.outcomes)) for r in results)
    jobs = [BookJob(BUY_AND_HOLD, "hold", series, weights=hold, **base)]
    signalled = [(r, _signals(r, f"{service}_unfiltered")) for r in results]
    signalled = [(r, s) for r, s in signalled if s is not None]
    if signalled:
        per_bar = tuple(_series(r, np.full(len(r.outcomes), np.nan)) for r, _ in signalled)
        weights = tuple(s.position.astype(float) for _, s in signalled)
        jobs.append(BookJob(f"{service}_per_bar", "per_bar", per_bar, weights=weights, **base))
    return jobs


def run_job(job: BookJob) -> list[dict[str, Any]]:
    """Every row of one strategy (module docstring)."""
    rows: list[dict[str, Any]] = []
    first: Run | None = None
    for cost in job.costs:
        settings = job.settings.with_round_trip(cost)
        key = {"strategy": job.strategy, "cost_bps": float(cost)}
        if job.kind != "desk":
            rows += _target_rows(job, settings, key)
            continue
        if first is None:  # the estimates do not depend on the cost: one desk learns them
            pooled = first = replay(settings, job.step_ms, job.series)
        else:
            pooled = replay_with(settings, job.step_ms, job.series, first)
        rows += _rows(job, key, POOLED, pooled, settings, (PAPER, SHADOW))
        for s in job.series:
            alone = replay_with(settings, job.step_ms, [s], first)
            rows += _rows(job, key, s.symbol, alone, settings, (PAPER, SHADOW))
    return rows


def _target_rows(
    job: BookJob, settings: TradingSettings, key: dict[str, Any]
) -> list[dict[str, Any]]:
    n = len(job.series)
    weights = {s.symbol: w / n for s, w in zip(job.series, job.weights, strict=True)}
    pooled = follow_targets(job.kind, settings, job.series, weights, job.strategy)
    rows = _rows(job, key, POOLED, pooled, settings, (job.kind,))
    for s, w in zip(job.series, job.weights, strict=True):
        alone = follow_targets(job.kind, settings, [s], {s.symbol: w}, job.strategy)
        rows += _rows(job, key, s.symbol, alone, settings, (job.kind,))
    return rows


def _rows(
    job: BookJob,
    key: dict[str, Any],
    symbol: str,
    run: Run,
    settings: TradingSettings,
    books: Sequence[str],
) -> list[dict[str, Any]]:
    out = []
    for book in books:
        fills = [f for f in run.fills if f.book == book]
        summary = book_summary(
            run.equity[book], fills, settings.initial_cash, job.step_ms, job.draws, job.seed
        )
        out.append({**key, "book": book, "symbol": symbol, **summary})
    return out


def book_table(
    results: Sequence[SymbolResult],
    service: str,
    members: Sequence[str],
    settings: TradingSettings,
    costs: Sequence[float],
    jobs: int = 1,
    draws: int = 2000,
    seed: int = 0,
) -> pl.DataFrame:
    """``book.csv``: every strategy, book, symbol (and ``POOLED``) and cost."""
    if not results:
        return pl.DataFrame()
    stamps = np.asarray(results[0].outcomes.timestamps).astype("datetime64[ms]").astype(np.int64)
    step_ms = int(np.median(np.diff(stamps))) if stamps.size > 1 else 3_600_000
    base = {
        "settings": settings,
        "costs": tuple(costs),
        "step_ms": step_ms,
        "draws": draws,
        "seed": seed,
    }
    work = [
        *scorer_jobs(results, service, members, base),
        *target_jobs(results, service, base),
    ]
    if jobs <= 1 or len(work) <= 1:
        parts = [run_job(j) for j in work]
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(work)), mp_context=context) as pool:
            parts = list(pool.map(run_job, work))
    columns = ["strategy", "book", "symbol", "cost_bps"]
    df = pl.DataFrame([row for part in parts for row in part])
    return df.select(*columns, *[c for c in df.columns if c not in columns])
