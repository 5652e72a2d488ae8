"""Gradient-boosted trees (LightGBM) on the tabular features: fit, score, save, describe.

One fit per call: multiclass log loss, early stopping on the VALIDATION part's log loss
(the boosting round with the lowest one is kept), one OpenMP thread unless told otherwise
(a 2-core machine shares its cores with Ray workers). The booster is saved as LightGBM's
own text format inside the registry's ``weights.pt`` (a uint8 tensor), so the registry's
hashing and atomic publish cover it like any network's weights.

Two variants: ``per_symbol`` (one booster per symbol) and ``pooled`` (one booster over
every symbol's rows, optionally with the symbol as a categorical feature, ``symbol_id``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from models.errors import ConfigError
from models.predictors.booster import SYMBOL_FEATURE, best_round, lightgbm_module
from models.training.metrics import N_CLASSES

VARIANTS: tuple[str, ...] = ("per_symbol", "pooled")


@dataclass(frozen=True)
class LgbmConfig:
    """LightGBM hyperparameters; saved with the model."""

    num_leaves: int = 15
    learning_rate: float = 0.05
    min_data_in_leaf: int = 200
    feature_fraction: float = 0.7
    bagging_fraction: float = 0.8
    lambda_l2: float = 10.0
    max_rounds: int = 1000
    early_stopping_rounds: int = 50
    num_threads: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("num_leaves", "min_data_in_leaf", "max_rounds", "early_stopping_rounds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}: must be an integer >= 1, got {value!r}")
        if self.num_leaves < 2:
            raise ConfigError(f"num_leaves: must be >= 2, got {self.num_leaves}")
        for name in ("learning_rate", "feature_fraction", "bagging_fraction"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 < value <= 1:
                raise ConfigError(f"{name}: must be in (0, 1], got {value!r}")
        if not math.isfinite(self.lambda_l2) or self.lambda_l2 < 0:
            raise ConfigError(f"lambda_l2: must be >= 0, got {self.lambda_l2!r}")
        if isinstance(self.num_threads, bool) or not isinstance(self.num_threads, int):
            raise ConfigError(f"num_threads: must be an integer, got {self.num_threads!r}")
        if self.num_threads < 1:
            raise ConfigError(f"num_threads: must be >= 1, got {self.num_threads}")

    def params(self) -> dict[str, Any]:
        """LightGBM's parameter dict (deterministic for a given seed and thread count)."""
        return {
            "objective": "multiclass",
            "num_class": N_CLASSES,
            "metric": "multi_logloss",
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": self.lambda_l2,
            "num_threads": self.num_threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LgbmConfig:
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(f"lgbm config: unknown keys {sorted(unknown)}")
        return cls(**data)


def design_matrix(X: np.ndarray, symbol_index: np.ndarray | None) -> np.ndarray:
    """``X`` as float64, with the symbol index appended as the last column when given."""
    X = np.asarray(X, dtype=np.float64)
    if symbol_index is None:
        return X
    return np.column_stack([X, np.asarray(symbol_index, dtype=np.float64)])


def fit_booster(
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    cfg: LgbmConfig,
    feature_names: list[str],
) -> Any:
    """Fit on ``train`` (X, y), stop early on ``val``'s log loss; the best round is kept.

    A last feature named :data:`SYMBOL_FEATURE` is treated as categorical.
    """
    lgb = lightgbm_module()
    if len(val[1]) == 0:
        raise ConfigError("val_frac: early stopping needs a validation part (> 0)")
    categorical = [SYMBOL_FEATURE] if feature_names[-1] == SYMBOL_FEATURE else []
    kwargs = {"feature_name": feature_names, "categorical_feature": categorical or "auto"}
    dtrain = lgb.Dataset(train[0], label=train[1], free_raw_data=False, **kwargs)
    dval = lgb.Dataset(val[0], label=val[1], reference=dtrain, free_raw_data=False, **kwargs)
    return lgb.train(
        cfg.params(),
        dtrain,
        num_boost_round=cfg.max_rounds,
        valid_sets=[dval],
        valid_names=["val"],
        callbacks=[lgb.early_stopping(cfg.early_stopping_rounds, verbose=False)],
    )


def predict_proba(booster: Any, X: np.ndarray) -> np.ndarray:
    """(n, 3) probabilities (down, flat, up) at the booster's best round."""
    if len(X) == 0:
        return np.zeros((0, N_CLASSES))
    return np.asarray(booster.predict(X, num_iteration=best_round(booster)), dtype=np.float64)


def gain_importance(booster: Any) -> dict[str, float]:
    """Total split gain per feature at the best round, largest first."""
    gains = booster.feature_importance(importance_type="gain", iteration=best_round(booster))
    pairs = sorted(zip(booster.feature_name(), gains, strict=True), key=lambda p: -p[1])
    return {name: float(gain) for name, gain in pairs}
