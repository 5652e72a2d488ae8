"""A tiny lgbm model published to a registry, for tests that need a served tree model."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from models.training.lgbm import LgbmConfig, fit_booster
from models.training.lgbm_publish import FittedVariant, publish_variants
from models.training.tabular import prepare_tabular_data


def publish_tiny_lgbm(root: Path, symbol: str, candles: pl.DataFrame, leader: pl.DataFrame) -> str:
    """Fit a few boosting rounds on ``symbol``'s causal tree features (``leader``: the
    leader's candles) and publish it as ``symbol``'s lgbm model; returns the version."""
    cfg = LgbmConfig(max_rounds=20, min_data_in_leaf=50, early_stopping_rounds=5)
    data = prepare_tabular_data(candles, symbol=symbol, leader=leader)
    names = list(data.feature_names)
    booster = fit_booster((data.train.X, data.train.y), (data.val.X, data.val.y), cfg, names)
    info = {"params": cfg.to_dict(), "search": {}, "trials": 1}
    fitted = FittedVariant(
        "per_symbol", {symbol: booster}, False, (symbol,), {symbol: info}, {symbol: 1.0}, 1
    )
    (row,) = publish_variants([fitted], {symbol: data}, str(root), {"data_path": "test"})
    return str(row.version)
