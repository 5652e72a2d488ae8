"""Everything the report needs from one symbol: its period, answer key and every strategy.

The heavy part of an evaluation (model inference and the ensemble replays) happens here,
once per symbol, in a worker process when several symbols run in parallel. The result is
plain arrays (:class:`SymbolResult`), scored afterwards by :mod:`models.evaluation.tables`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from models.data.loader import load_market_data
from models.ensemble import Ensemble, EnsembleConfig
from models.evaluation.baselines import baseline_signals, resolved_labels
from models.evaluation.outcomes import Outcomes, compute_outcomes
from models.evaluation.period import Period, resolve_period
from models.evaluation.predict import Progress, predict_period, regime_states
from models.evaluation.replay import ALL_VARIANTS, Variant, replay
from models.evaluation.settings import TRAINED
from models.evaluation.signals import Signals, from_predictions
from models.evaluation.sources import load_sources
from models.features.indicators import ensure_indicators
from models.labels import LabelConfig, trailing_sigma
from models.predictors.base import Prediction, predictor_class
from models.predictors.registry import predictor_names
from models.regime.detector import detect_regimes
from models.regime.state import RegimeState


@dataclass(frozen=True)
class SymbolJob:
    """What to evaluate for one symbol (small and picklable: it crosses processes)."""

    symbol: str
    data_path: str
    registry: str | None
    horizon: int
    start: datetime | None = None
    end: datetime | None = None
    ensemble_config: dict[str, Any] | None = None
    variants: tuple[Variant, ...] = ALL_VARIANTS
    trained: tuple[str, ...] = TRAINED
    device: str = "cpu"
    threads: int | None = None
    reason: str | None = None
    """Why the period starts where it does, when planned elsewhere (see ``run.plan``)."""
    vol_window: int = 48
    """Bars of the trailing volatility the trading desk scales returns by."""


@dataclass
class SymbolResult:
    """Period, answer key, every strategy's signals and what was (not) evaluated."""

    symbol: str
    period: Period
    outcomes: Outcomes
    signals: list[Signals]
    models: dict[str, str | None]
    """Evaluated predictor -> version (``None`` for rule-based ones)."""
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    weights: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    """Variant name -> member (or model) -> weight at each evaluated bar."""
    combiner: str | None = None
    """Version of the published combiner the seeded variants started from (None: none)."""
    prices: dict[str, np.ndarray] = field(default_factory=dict)
    """``close`` and ``sigma`` (trailing 1-bar log-return std, as the trading desk reads
    it) at each evaluated bar: what the book trades at."""


def _progress(symbol: str) -> Progress:
    def say(message: str) -> None:
        print(f"[{symbol}] {message}", file=sys.stderr, flush=True)

    return say


def evaluate_symbol(job: SymbolJob) -> SymbolResult:
    """Load, predict, replay and collect every strategy for ``job.symbol``."""
    if job.threads:
        for name in (*predictor_names("rule"), *job.trained):
            predictor_class(name).set_threads(job.threads)
    say = _progress(job.symbol)
    clock = time.perf_counter()
    candles = load_market_data(job.data_path, symbols=[job.symbol])[job.symbol]
    sources = load_sources(
        job.symbol, job.registry, job.horizon, job.device, job.trained, data_path=job.data_path
    )
    period = resolve_period(job.symbol, candles["timestamp"], sources.windows, job.start, job.end)
    if job.reason:
        period = replace(period, reason=job.reason)
    say(f"{period.rows.size} bars from {period.start:%Y-%m-%d %H:%M} ({period.reason})")
    label_cfg = LabelConfig(horizon=job.horizon)
    candles = ensure_indicators(candles)
    regimes = detect_regimes(candles)
    outcomes = compute_outcomes(candles, period.rows, label_cfg, regimes)
    seconds = {"load": time.perf_counter() - clock}
    clock = time.perf_counter()
    predictions = predict_period(candles, period.rows, sources.specs, say)
    seconds["predict"] = time.perf_counter() - clock
    clock = time.perf_counter()
    signals = [from_predictions(name, preds) for name, preds in predictions.items()]
    history: Iterable[int] = (
        resolved_labels(candles, int(period.rows[0]), label_cfg) if period.rows.size else []
    )
    ensembles, weights = _ensemble_signals(
        job, predictions, regime_states(regimes, period.rows), outcomes, history, sources.combiner
    )
    signals += ensembles
    seconds["replay"] = time.perf_counter() - clock
    say(f"{len(job.variants)} ensemble replays in {seconds['replay']:.1f}s")
    signals += baseline_signals(candles, period.rows, label_cfg)
    close = candles["close"].cast(pl.Float64).to_numpy()
    sigma = trailing_sigma(close, job.vol_window)
    return SymbolResult(
        symbol=job.symbol,
        period=period,
        outcomes=outcomes,
        signals=signals,
        models={name: spec.version for name, spec in sources.specs.items()},
        notes=sources.notes,
        seconds=seconds,
        weights=weights,
        prices={"close": close[period.rows], "sigma": sigma[period.rows]},
        combiner=sources.combiner_version,
    )


def member_config(base: EnsembleConfig | None, predictors: Iterable[str]) -> EnsembleConfig:
    """``base`` (default: the service's) with every evaluated predictor as a member of the
    learned combiner (e.g. lgbm where it is not served)."""
    base = base if base is not None else EnsembleConfig()
    if base.mode != "learned":
        return base
    extra = tuple(name for name in predictors if name not in base.members)
    return EnsembleConfig.from_dict({**base.to_dict(), "members": [*base.members, *extra]})


def _ensemble_signals(
    job: SymbolJob,
    predictions: dict[str, list[Prediction | None]],
    regimes: list[RegimeState | None],
    outcomes: Outcomes,
    history: Iterable[int],
    combiner: dict[str, Any] | None,
) -> tuple[list[Signals], dict[str, dict[str, np.ndarray]]]:
    """Every variant's strategies, each from its own fresh ensemble (warm-started with the
    symbol's labels resolved before the period, as the service does with its stored
    candles, and started from the published ``combiner`` when the variant is seeded), and
    each variant's weights over time."""
    configured = (
        EnsembleConfig.from_dict(job.ensemble_config) if job.ensemble_config is not None else None
    )
    base = member_config(configured, predictions)
    labels = list(history)
    out: list[Signals] = []
    weights: dict[str, dict[str, np.ndarray]] = {}
    for variant in job.variants:
        ensemble = Ensemble(variant.config(base))
        if variant.seeded and combiner is not None:
            ensemble.seed({job.symbol: combiner})
        ensemble.warm_start(job.symbol, labels)
        run = replay(ensemble, job.symbol, predictions, regimes, outcomes, variant)
        out += run.strategies()
        weights[variant.name] = run.weights
    return out, weights
