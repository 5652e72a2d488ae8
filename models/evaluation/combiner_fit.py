"""Fit the learned combiner on the bars the trained members never trained on, with the
evaluation's own walk-forward replay, and publish it with the models.

Per symbol the fit bars are those after the last bar any trained member's training labels
looked at and whose outcome is known by the end of the members' validation windows (the
test windows stay out, so the evaluation's period, which starts after validation, is never
scored by a combiner that saw it). On them the evaluation's code runs as for a report
(:func:`~models.evaluation.predict.predict_period`, :func:`~models.evaluation.replay.replay`)
with a fresh learned ensemble started from its prior and warm-started with the labels
resolved before. The symbols' fits are pooled and published per symbol
(:mod:`models.ensemble.published`), each version recording the member versions and bars it
was fitted on. ``scripts/train.py`` runs this after training; ``scripts/fit_combiner.py``
runs it alone.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from models.data.loader import load_market_data
from models.ensemble import Ensemble, EnsembleConfig, LearnedCombiner
from models.ensemble.calibration_map import CalibrationMap
from models.ensemble.published import COMBINER, pooled_fits, publish_fit
from models.ensemble.symbol_state import SymbolState
from models.errors import ConfigError
from models.evaluation.baselines import resolved_labels
from models.evaluation.outcomes import compute_outcomes
from models.evaluation.period import ModelWindow
from models.evaluation.predict import predict_period, regime_states
from models.evaluation.replay import COLD, MEMBERS_MEAN, replay
from models.evaluation.settings import TRAINED
from models.evaluation.sources import Sources, load_sources
from models.evaluation.symbol_eval import member_config
from models.features.indicators import ensure_indicators
from models.labels import LabelConfig
from models.predictors.base import predictor_class
from models.predictors.registry import predictor_names
from models.regime.detector import detect_regimes
from models.registry import ModelRegistry

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
EQUAL = replace(MEMBERS_MEAN, seeded=False)
"""The equal-weight replay of the fit (its map is published for ``members_mean``)."""


@dataclass(frozen=True)
class FitJob:
    """One symbol's fit (small and picklable: it crosses processes)."""

    symbol: str
    data_path: str
    registry: str
    horizon: int = 4
    ensemble_config: dict[str, Any] | None = None
    device: str = "cpu"
    threads: int | None = None


@dataclass(frozen=True)
class SymbolFit:
    """A symbol's fitted combiner state and where it came from."""

    symbol: str
    members: tuple[str, ...]
    equal: tuple[str, ...]
    state: dict[str, Any]
    equal_calibration: dict[str, Any]
    """The calibration map the equal-weight (``members_mean``) replay learned."""
    provenance: dict[str, Any]


def fit_rows(
    symbol: str, timestamps: pl.Series, windows: Sequence[ModelWindow], horizon: int
) -> np.ndarray:
    """Rows after every trained member's training labels whose outcome is known by the end
    of their validation windows (see the module docstring)."""
    members = [w for w in windows if w.model != COMBINER]
    if not members:
        raise ConfigError(f"{symbol}: no trained member in the registry to fit a combiner on")
    untrained = [w for w in members if w.trained_until is None]
    if untrained:
        raise ConfigError(
            f"{untrained[0].describe()}; its manifest records no training labels' end "
            "(data_window.train.label_end): the bars it never trained on are unknown"
        )
    start = max(w.trained_until for w in members if w.trained_until is not None)
    end = max(w.seen_until for w in members)
    ts = timestamps.dt.epoch("us").to_numpy()
    step = int(np.median(np.diff(ts))) if ts.size > 1 else 0
    lo = int((start - _EPOCH) / timedelta(microseconds=1))
    hi = int((end - _EPOCH) / timedelta(microseconds=1)) - horizon * step
    rows = np.flatnonzero((ts > lo) & (ts <= hi))
    if rows.size < 2 * horizon:
        raise ConfigError(
            f"{symbol}: only {rows.size} bars between the members' training labels "
            f"({start.isoformat()}) and their validation end ({end.isoformat()}) to fit on"
        )
    return rows


def fit_symbol(job: FitJob) -> SymbolFit:
    """Replay the held-out bars of ``job.symbol`` and return what its combiner learned."""
    if job.threads:
        for name in (*predictor_names("rule"), *TRAINED):
            predictor_class(name).set_threads(job.threads)
    candles = load_market_data(job.data_path, symbols=[job.symbol])[job.symbol]
    sources = load_sources(
        job.symbol, job.registry, job.horizon, job.device, TRAINED, data_path=job.data_path
    )
    rows = fit_rows(job.symbol, candles["timestamp"], sources.windows, job.horizon)
    label_cfg = LabelConfig(horizon=job.horizon)
    candles = ensure_indicators(candles)
    regimes = detect_regimes(candles)
    outcomes = compute_outcomes(candles, rows, label_cfg, regimes)
    predictions = predict_period(candles, rows, sources.specs, _say(job.symbol))
    configured = EnsembleConfig.from_dict(job.ensemble_config) if job.ensemble_config else None
    base = member_config(configured, predictions)
    history = resolved_labels(candles, int(rows[0]), label_cfg)
    states = regime_states(regimes, rows)
    fitted = {}
    for variant in (COLD, EQUAL):
        ensemble = Ensemble(variant.config(base))
        combiner = ensemble.combiner
        if not isinstance(combiner, LearnedCombiner):
            raise ConfigError(
                "ensemble config: only the learned combiner is fitted (mode: learned)"
            )
        ensemble.warm_start(job.symbol, history)
        replay(ensemble, job.symbol, predictions, states, outcomes, variant, flush=True)
        fitted[variant.name] = (combiner, combiner.symbols[job.symbol])
    combiner, state = fitted[COLD.name]
    ic = state.summary()["ic"]
    return SymbolFit(
        job.symbol,
        combiner.members,
        combiner.equal,
        state.state_dict(),
        fitted[EQUAL.name][1].calibration.state_dict(),
        _provenance(sources, candles["timestamp"], rows, job.horizon, ic),
    )


def _provenance(
    sources: Sources, timestamps: pl.Series, rows: np.ndarray, horizon: int, ic: dict[str, Any]
) -> dict[str, Any]:
    first, last = timestamps[int(rows[0])], timestamps[int(rows[-1])]
    return {
        "members": {n: s.version for n, s in sources.specs.items() if s.version is not None},
        "bars": int(rows.size),
        "first_bar": first.isoformat(),
        "last_bar": last.isoformat(),
        "label_end": timestamps[min(int(rows[-1]) + horizon, timestamps.len() - 1)].isoformat(),
        "fit_ic": ic,
    }


def _say(symbol: str) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(f"[combiner {symbol}] {message}", file=sys.stderr, flush=True)

    return say


def fit_combiners(jobs: Sequence[FitJob], workers: int = 1) -> dict[str, dict[str, Any]]:
    """Every job's symbol fitted (``workers`` processes) and pooled: symbol -> fit."""
    if workers <= 1 or len(jobs) <= 1:
        fits = [fit_symbol(job) for job in jobs]
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
            fits = list(pool.map(fit_symbol, jobs))
    if not fits:
        return {}
    configured = jobs[0].ensemble_config
    config = EnsembleConfig.from_dict(configured) if configured else EnsembleConfig()
    members, equal = fits[0].members, fits[0].equal
    if any(f.members != members for f in fits):
        raise ConfigError(
            "combiner fit: the symbols have different members "
            f"({ {f.symbol: f.members for f in fits} }); fit them separately"
        )
    cfg, overlap = config.learning.combiner, config.learning.delay_bars
    states, maps = {}, {}
    for f in fits:
        state = SymbolState(members, equal, cfg, overlap)
        state.load_state_dict(f.state)
        states[f.symbol] = state
        maps[f.symbol] = CalibrationMap(cfg.map_prior, cfg.half_life)
        maps[f.symbol].load_state_dict(f.equal_calibration)
    provenance = {f.symbol: f.provenance for f in fits}
    return pooled_fits(states, provenance, members, equal, cfg, overlap, maps)


def fit_and_publish(
    data: Path,
    registry: str,
    symbols: Sequence[str] | None = None,
    horizon: int = 4,
    jobs: int = 2,
    ensemble_config: dict[str, Any] | None = None,
    publish: bool = True,
    say: Callable[[str], None] = print,
) -> dict[str, str]:
    """Fit the combiner of every symbol of ``symbols`` (default: every one) with a trained
    member in ``registry`` and publish it; symbol -> version (``unpublished`` without
    ``publish``). What ``scripts/train.py`` runs after training."""
    models = ModelRegistry(registry).list_models()
    chosen = list(symbols) if symbols else sorted(models)
    trained = [s for s in chosen if any(m in TRAINED for m in models.get(s, {}))]
    if not trained:
        raise ConfigError(f"registry {registry}: no trained model for {', '.join(chosen) or '-'}")
    threads = 1 if jobs > 1 else None
    fits = fit_combiners(
        [
            FitJob(s, str(data), registry, horizon, ensemble_config, threads=threads)
            for s in trained
        ],
        jobs,
    )
    for symbol, fit in sorted(fits.items()):
        prov = fit["provenance"]
        ic = prov["fit_ic"]
        say(
            f"{symbol}: combiner fitted on {prov['bars']} bars {prov['first_bar'][:16]} .. "
            f"{prov['last_bar'][:16]}; IC there (learning as it went) ensemble "
            f"{_num(ic.get('ensemble'))}, members_mean {_num(ic.get('members_mean'))}"
        )
    if fits:
        chosen = next(iter(fits.values()))["provenance"]["selection"]
        say(
            f"weights published: {chosen['weights']} (walk-forward IC over "
            f"{chosen['outcomes']} outcomes: learned {_num(chosen['learned_ic'])}, "
            f"equal {_num(chosen['members_mean_ic'])}; {chosen['rule']})"
        )
    return publish_combiners(registry, fits) if publish else dict.fromkeys(fits, "unpublished")


def _selected(provenance: dict[str, Any]) -> dict[str, Any]:
    selection = provenance.get("selection")
    return {"weights": selection["weights"]} if selection else {}


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"


def publish_combiners(registry: str | Path, fits: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Publish every fit as its symbol's newest ``combiner``; symbol -> version."""
    reg = ModelRegistry(registry)
    out = {}
    for symbol, fit in sorted(fits.items()):
        prov = fit["provenance"]
        metrics = {"bars": prov["bars"], "fit_ic": prov["fit_ic"], **_selected(prov)}
        out[symbol] = publish_fit(reg, symbol, fit, metrics)
    return out
