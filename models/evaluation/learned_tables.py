"""What the learned ensemble must show on real data (issue: the ensemble learns with a
proper score): proper scores against the base rate and the best member, calibration,
accuracy by confidence decile, the actionable signals against the unfiltered calls with a
block-bootstrap test, and the experts' weights over time.

Everything is computed from the report's own tables and per-bar arrays, so the numbers in
the report's section are in its CSVs or recomputable from them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from models.evaluation.bootstrap import block_sample
from models.evaluation.symbol_eval import SymbolResult
from models.evaluation.tables import POOLED, parts_of


def proper_scores(cls: pl.DataFrame, service: str, members: Sequence[str]) -> pl.DataFrame:
    """Per symbol and pooled: log loss of the service ensemble, the majority (base-rate)
    forecaster, ``members_mean`` and the best member, the differences, and the ensemble's
    ECE and IC."""
    rows = []
    all_regimes = cls.filter(pl.col("regime") == "all")
    for symbol in [*sorted(set(all_regimes["symbol"]) - {POOLED}), POOLED]:
        here = {
            r["strategy"]: r
            for r in all_regimes.filter(pl.col("symbol") == symbol).iter_rows(named=True)
        }
        ens, majority = here.get(service), here.get("majority")
        scored = {
            m: here[m]["log_loss"] for m in members if m in here and _finite(here[m]["log_loss"])
        }
        if ens is None or majority is None or not scored:
            continue
        best = min(scored, key=scored.__getitem__)
        mean = here.get("members_mean")
        rows.append(
            {
                "symbol": symbol,
                "ensemble_log_loss": ens["log_loss"],
                "majority_log_loss": majority["log_loss"],
                "members_mean_log_loss": mean["log_loss"] if mean is not None else math.nan,
                "best_member": best,
                "best_member_log_loss": scored[best],
                "minus_majority": ens["log_loss"] - majority["log_loss"],
                "minus_best_member": ens["log_loss"] - scored[best],
                "ece": ens["ece"],
                "ic": ens["ic"],
            }
        )
    return pl.DataFrame(rows)


def confidence_deciles(calibration: pl.DataFrame, strategy: str) -> tuple[pl.DataFrame, float]:
    """Accuracy by decile of ``strategy``'s confidence (pooled, all regimes) and the
    Spearman correlation of decile with accuracy."""
    df = calibration.filter(
        (pl.col("strategy") == strategy)
        & (pl.col("regime") == "all")
        & (pl.col("curve") == "confidence_decile")
    ).sort("bin")
    if df.height < 3:
        return df, math.nan
    rho = stats.spearmanr(df["bin"].to_numpy(), df["accuracy"].to_numpy()).statistic
    return df, float(rho)


@dataclass(frozen=True)
class HitRateTest:
    """Sign hit rates of the filtered (actionable) and unfiltered directional calls."""

    filtered_signals: int
    filtered_hit_rate: float
    unfiltered_signals: int
    unfiltered_hit_rate: float
    difference_se: float
    """Block-bootstrap standard error of ``filtered - unfiltered``."""
    p_value: float
    """One-sided bootstrap p-value of ``filtered <= unfiltered``."""
    filtered_se: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _sign_hits(results: Sequence[SymbolResult], name: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per symbol: (called, hit) arrays over the bars (a call with a nonzero forward return)."""
    out = []
    for _, outcomes, signals in parts_of(results, name):
        fwd = outcomes.forward_return
        called = (signals.position != 0) & np.isfinite(fwd) & (fwd != 0)
        hit = called & (signals.position == np.sign(np.nan_to_num(fwd)))
        out.append((called, hit))
    return out


def _rate(parts: Sequence[tuple[np.ndarray, np.ndarray]], picks: Sequence[np.ndarray]) -> float:
    calls = sum(int(c[p].sum()) for (c, _), p in zip(parts, picks, strict=True))
    hits = sum(int(h[p].sum()) for (_, h), p in zip(parts, picks, strict=True))
    return hits / calls if calls else math.nan


def hit_rate_test(
    results: Sequence[SymbolResult], service: str, draws: int = 500, seed: int = 0
) -> HitRateTest:
    """Filtered vs unfiltered sign hit rate, with a moving-block bootstrap over bars (blocks
    of :data:`BLOCK_BARS` resampled per symbol, the same blocks for both, so the overlap of
    4-bar outcomes and the pairing of the two are kept)."""
    filt = _sign_hits(results, f"{service}_filtered")
    unfilt = _sign_hits(results, f"{service}_unfiltered")
    full = [np.arange(c.size) for c, _ in filt]
    rng = np.random.default_rng(seed)
    diffs, rates = [], []
    for _ in range(draws):
        picks = [block_sample(c.size, rng) for c, _ in filt]
        f, u = _rate(filt, picks), _rate(unfilt, picks)
        rates.append(f)
        diffs.append(f - u)
    diffs_a, rates_a = np.asarray(diffs), np.asarray(rates)
    ok = np.isfinite(diffs_a)
    return HitRateTest(
        filtered_signals=sum(int(c.sum()) for c, _ in filt),
        filtered_hit_rate=_rate(filt, full),
        unfiltered_signals=sum(int(c.sum()) for c, _ in unfilt),
        unfiltered_hit_rate=_rate(unfilt, full),
        difference_se=float(np.std(diffs_a[ok])) if ok.sum() > 1 else math.nan,
        p_value=float(np.mean(diffs_a[ok] <= 0)) if ok.any() else math.nan,
        filtered_se=float(np.nanstd(rates_a)) if np.isfinite(rates_a).sum() > 1 else math.nan,
    )


def returns_table(trade: pl.DataFrame, service: str, costs: Sequence[float]) -> pl.DataFrame:
    """Pooled return and Sharpe of the filtered and unfiltered service ensemble and of
    buy-and-hold at each cost."""
    names = [f"{service}_filtered", f"{service}_unfiltered", "buy_and_hold"]
    return (
        trade.filter(
            (pl.col("symbol") == POOLED)
            & (pl.col("regime") == "all")
            & pl.col("strategy").is_in(names)
            & pl.col("cost_bps").is_in(list(costs))
        )
        .select("cost_bps", "strategy", "total_return", "sharpe", "max_drawdown")
        .sort("cost_bps", "strategy")
    )


def mean_weights(results: Sequence[SymbolResult], variant: str) -> dict[str, np.ndarray]:
    """Each expert's weight at each bar position, averaged over the symbols (the symbols
    share their timestamps in the evaluation; a shorter symbol is aligned at the end)."""
    per_symbol = [r.weights[variant] for r in results if variant in r.weights]
    if not per_symbol:
        return {}
    n = max(len(next(iter(w.values()))) for w in per_symbol if w)
    out: dict[str, np.ndarray] = {}
    for name in sorted({k for w in per_symbol for k in w}):
        stack = np.full((len(per_symbol), n), np.nan)
        for i, weights in enumerate(per_symbol):
            if name in weights:
                stack[i, n - weights[name].size :] = weights[name]
        out[name] = np.nanmean(stack, axis=0)
    return out


def _finite(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)
