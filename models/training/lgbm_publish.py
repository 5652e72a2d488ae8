"""Score fitted LightGBM variants per symbol, pick the default, publish both.

Each symbol gets the validation and test scores of its booster (its own, or the pooled one
on its rows) next to the baselines on exactly those rows (:mod:`models.training.baselines`).
The default variant is the one with the lower validation log loss over all symbols' rows
together; it is published LAST for every symbol, so the registry's ``LATEST`` (what the
predictor and the evaluation load) is the default while the other stays as an older version.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.predictors.booster import SYMBOL_FEATURE, best_round, booster_state
from models.predictors.tree_features import FEATURE_LOOKBACK, LEADER_SYMBOL, WINDOW_BARS
from models.registry import ModelRegistry
from models.training.baselines import baseline_metrics
from models.training.lgbm import design_matrix, gain_importance, predict_proba
from models.training.metrics import classification_metrics
from models.training.summary import Scores, SummaryRow
from models.training.tabular import TabularData
from models.vocabulary import CLASSES

MODEL = "lgbm"


@dataclass(frozen=True)
class FittedVariant:
    """A variant's booster per symbol (the same object for every symbol when pooled)."""

    variant: str
    boosters: Mapping[str, Any]
    symbol_feature: bool
    symbols: tuple[str, ...]
    sampled: Mapping[str, Mapping[str, Any]]
    """Per symbol: the chosen trial's sampled knobs and Tune provenance."""
    seconds: Mapping[str, float]
    """Per symbol: search time (the pooled search's time split evenly over symbols)."""
    trials: int


@dataclass
class SymbolScores:
    """One variant's scores on one symbol."""

    val: dict[str, float]
    test: dict[str, float]
    proba_val: np.ndarray = field(repr=False)


def symbol_inputs(fitted: FittedVariant, data: TabularData, part: str) -> np.ndarray:
    """The design matrix of ``part`` of ``data`` for ``fitted``'s booster."""
    X = getattr(data, part).X
    if not fitted.symbol_feature:
        return design_matrix(X, None)
    index = np.full(len(X), fitted.symbols.index(data.symbol))
    return design_matrix(X, index)


def score(fitted: FittedVariant, data: TabularData) -> SymbolScores:
    booster = fitted.boosters[data.symbol]
    probs = {p: predict_proba(booster, symbol_inputs(fitted, data, p)) for p in ("val", "test")}
    return SymbolScores(
        val=classification_metrics(data.val.y, probs["val"]),
        test=classification_metrics(data.test.y, probs["test"]),
        proba_val=probs["val"],
    )


def pooled_val_loss(
    scores: Mapping[str, SymbolScores], datasets: Mapping[str, TabularData]
) -> float:
    """Validation log loss over every symbol's rows together (row-weighted)."""
    total = sum(s.val["log_loss"] * len(datasets[k].val) for k, s in scores.items())
    return float(total / max(sum(len(datasets[k].val) for k in scores), 1))


def artifact_config(
    fitted: FittedVariant, data: TabularData, job: Mapping[str, Any]
) -> dict[str, Any]:
    """``config.json``: what the ``lgbm`` predictor needs, plus provenance."""
    names = list(data.feature_names) + ([SYMBOL_FEATURE] if fitted.symbol_feature else [])
    sampled = dict(fitted.sampled[data.symbol])
    return {
        "model": MODEL,
        "kind": "tree",
        "variant": fitted.variant,
        "feature_names": names,
        "symbol_feature": fitted.symbol_feature,
        "symbols": list(fitted.symbols),
        "leader": LEADER_SYMBOL,
        "window_bars": WINDOW_BARS,
        "feature_lookback": FEATURE_LOOKBACK,
        "horizon": data.label_cfg.horizon,
        "label": data.label_cfg.to_dict(),
        "classes": list(CLASSES),
        "params": sampled.pop("params"),
        "search": sampled.pop("search"),
        "tune": sampled,
        "data": dict(job),
    }


def artifact_metrics(
    fitted: FittedVariant, data: TabularData, scores: SymbolScores, comparison: dict[str, Any]
) -> dict[str, Any]:
    booster = fitted.boosters[data.symbol]
    return {
        "val": scores.val,
        "test": scores.test,
        "baselines": {"val": baseline_metrics(data, "val"), "test": baseline_metrics(data, "test")},
        "samples": {p: len(getattr(data, p)) for p in ("train", "val", "test")},
        "best_iteration": best_round(booster),
        "feature_importance": {  # a list: JSON objects are written with sorted keys
            "type": "gain",
            "ranked": [[n, g] for n, g in gain_importance(booster).items()],
        },
        "comparison": comparison,
        "trials": fitted.trials,
    }


def publish_variants(
    fitted: list[FittedVariant],
    datasets: Mapping[str, TabularData],
    registry_root: str,
    job: Mapping[str, Any],
) -> list[SummaryRow]:
    """Score every variant, choose the default, publish (default last); summary rows."""
    registry = ModelRegistry(registry_root)
    scores = {f.variant: {s: score(f, d) for s, d in datasets.items()} for f in fitted}
    losses = {v: pooled_val_loss(s, datasets) for v, s in scores.items()}
    default = min(losses, key=lambda v: losses[v])
    comparison = {"val_log_loss": losses, "default": default}
    rows = []
    for f in sorted(fitted, key=lambda f: f.variant == default):
        for symbol, data in datasets.items():
            started = time.perf_counter()
            sc = scores[f.variant][symbol]
            version = registry.publish(
                symbol,
                MODEL,
                state_dict=booster_state(f.boosters[symbol]),
                config=artifact_config(f, data, job),
                metrics=artifact_metrics(f, data, sc, comparison),
                data_window={**data.data_window, "source": job.get("data_path")},
            )
            rows.append(_row(f, data, sc, version, default, started))
    return sorted(rows, key=lambda r: (r.symbol, r.model))


def _row(
    f: FittedVariant, data: TabularData, sc: SymbolScores, version: str, default: str, t0: float
) -> SummaryRow:
    marker = "*" if f.variant == default else ""
    return SummaryRow(
        symbol=data.symbol,
        model=f"{MODEL}:{f.variant}{marker}",
        trials=f.trials,
        val_loss=sc.val["log_loss"],
        val_accuracy=sc.val["accuracy"],
        test=Scores.from_metrics(sc.test),
        baselines={k: Scores.from_metrics(v) for k, v in baseline_metrics(data, "test").items()},
        n_test=len(data.test),
        version=version,
        seconds=f.seconds[data.symbol] + time.perf_counter() - t0,
    )
