"""Naive strategies scored on the same bars as the models: what "better" has to beat.

All are causal (bar ``t`` uses bars ``<= t``, and the majority class uses labels already
resolved before the period starts):

- ``always_flat``: always predicts flat; never trades (the accuracy of doing nothing).
- ``majority``: the most frequent class among the labels resolved before the first evaluated
  bar, with those class frequencies as its probabilities (log loss and Brier of knowing
  only the prior).
- ``momentum``: the last 1-bar log return continues: up / down when it is beyond the flat
  band scaled to one bar (``band / sqrt(h)``), else flat (the training baseline's rule,
  :func:`models.training.baselines.momentum_classes`).
- ``mean_reversion``: the mirror of ``momentum`` (the last move reverses).
- ``sma_cross``: long while SMA 20 is above SMA 50, short while below.
- ``buy_and_hold``: always long.

Random signals with the same exposure are in :mod:`models.evaluation.null`.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from models.evaluation.signals import Signals, hard_signals
from models.features.indicators import sma
from models.labels import LabelConfig, band_series, make_labels
from models.training.baselines import momentum_classes
from models.vocabulary import DOWN, UP

BASELINES: tuple[str, ...] = (
    "always_flat",
    "majority",
    "momentum",
    "mean_reversion",
    "sma_cross",
    "buy_and_hold",
)


def resolved_labels(candles: pl.DataFrame, first_row: int, label_cfg: LabelConfig) -> np.ndarray:
    """Classes (0 / 1 / 2, oldest first) of the labels fully resolved before ``first_row``:
    a label at ``t`` is known once bar ``t + h`` has closed, so rows with ``t + h <
    first_row``."""
    return make_labels(candles.head(first_row), label_cfg).drop_nulls().to_numpy().astype(np.int64)


def prior_class_frequencies(
    candles: pl.DataFrame, first_row: int, label_cfg: LabelConfig
) -> np.ndarray:
    """(down, flat, up) shares of the labels fully resolved before ``first_row``.

    A label at ``t`` is known once bar ``t + h`` has closed, so only rows with
    ``t + h < first_row`` count; uniform when there are none.
    """
    labels = resolved_labels(candles, first_row, label_cfg)
    if labels.size == 0:
        return np.full(3, 1.0 / 3.0)
    return np.bincount(labels.astype(np.int64), minlength=3)[:3] / labels.size


def majority_signals(prior: np.ndarray, n: int) -> Signals:
    """The prior's top class at every bar, with the prior as probabilities."""
    direction = np.full(n, int(np.argmax(prior)) - 1, dtype=np.int8)
    probs = np.tile(np.asarray(prior, float), (n, 1))
    covered = np.ones(n, bool)
    return Signals(
        "majority", "baseline", direction, covered, direction != 0, probs, probs.max(axis=1)
    )


def momentum_direction(close: np.ndarray, band: np.ndarray, horizon: int) -> np.ndarray:
    """-1 / 0 / +1 of the momentum rule at every row of ``close`` (0 where undefined)."""
    last = np.concatenate([[np.nan], np.diff(np.log(close))])
    classes = momentum_classes(last, band, horizon)
    defined = np.isfinite(last) & np.isfinite(band)
    out = np.select([classes == UP, classes == DOWN], [1, -1], 0)
    return np.where(defined, out, 0).astype(np.int8)


def sma_cross_direction(close: np.ndarray, fast: int = 20, slow: int = 50) -> np.ndarray:
    """+1 while SMA ``fast`` > SMA ``slow``, -1 while below, 0 when equal or undefined."""
    diff = sma(close, fast) - sma(close, slow)
    return np.where(np.isfinite(diff), np.sign(diff), 0).astype(np.int8)


def baseline_signals(
    candles: pl.DataFrame, rows: np.ndarray, label_cfg: LabelConfig
) -> list[Signals]:
    """Every baseline of :data:`BASELINES` at ``rows`` of ``candles``."""
    rows = np.asarray(rows, dtype=np.int64)
    n = rows.size
    close = candles["close"].cast(pl.Float64).to_numpy()
    mom = momentum_direction(close, band_series(close, label_cfg), label_cfg.horizon)[rows]
    prior = prior_class_frequencies(candles, int(rows[0]), label_cfg) if n else np.ones(3) / 3
    return [
        hard_signals("always_flat", np.zeros(n, np.int8)),
        majority_signals(prior, n),
        hard_signals("momentum", mom),
        hard_signals("mean_reversion", -mom),
        hard_signals("sma_cross", sma_cross_direction(close)[rows]),
        hard_signals("buy_and_hold", np.ones(n, np.int8)),
    ]
