"""From candles to labelled feature rows for tree models, split like the networks' data.

The same labels (:func:`models.labels.make_labels`), chronological split and
embargo (:mod:`models.training.splits`) and data hash as :mod:`models.training.dataset`;
a sample is one row (the tree sees the features of bar ``t`` only), so the embargo is
``horizon + FEATURE_LOOKBACK``. Trees need no scaler: nothing is fitted on any rows here.
:func:`pool` stacks several symbols' parts for the pooled model and checks that no
symbol's training labels reach into another symbol's validation or test inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from models.data.times import restrict_period
from models.errors import ConfigError
from models.labels import LabelConfig, make_labels
from models.predictors.tree_features import FEATURE_LOOKBACK, TREE_FEATURES, tree_features
from models.training.dataset import LabelledParts, SplitPart, _check_candles, labelled_fields
from models.training.splits import chronological_split, required_embargo

PARTS: tuple[str, ...] = ("train", "val", "test")


@dataclass(frozen=True)
class TabularData(LabelledParts):
    """One symbol's feature rows and labels per part (``X`` is (rows, features) float32)."""

    symbol: str


def prepare_tabular_data(
    candles: pl.DataFrame,
    *,
    symbol: str,
    leader: pl.DataFrame | None = None,
    label_cfg: LabelConfig | None = None,
    val_frac: float = 0.15,
    test_frac: float = 0.15,
) -> TabularData:
    """Tree features and labels of ``candles`` with an embargoed chronological split.

    ``leader``: the leader's candles (any span; only bars at the symbol's times are used).
    """
    label_cfg = label_cfg or LabelConfig()
    candles = _check_candles(candles)
    feats = tree_features(candles, leader).select(TREE_FEATURES).to_numpy().astype(np.float32)
    labels = make_labels(candles, label_cfg).to_numpy().astype(np.float64)
    rows = np.arange(candles.height)
    candidates = rows[(rows >= FEATURE_LOOKBACK) & ~np.isnan(labels)]
    embargo = required_embargo(label_cfg.horizon, FEATURE_LOOKBACK, 1)
    split = chronological_split(candidates, val_frac=val_frac, test_frac=test_frac, embargo=embargo)
    stamps = candles["timestamp"]
    parts = {
        name: _part(feats, labels, getattr(split, name), label_cfg.horizon, stamps)
        for name in PARTS
    }
    return TabularData(
        **labelled_fields(candles, parts, label_cfg, embargo, symbol=symbol),
        feature_names=TREE_FEATURES,
        symbol=symbol,
    )


def bounded(candles: pl.DataFrame, start: Any, end: Any, max_rows: int | None) -> pl.DataFrame:
    """Rows in ``[start, end)``, then the last ``max_rows`` (as the networks' trials do)."""
    candles = restrict_period(candles, start, end)
    return candles.tail(max_rows) if max_rows is not None else candles


def _part(
    feats: np.ndarray, labels: np.ndarray, ends: np.ndarray, horizon: int, stamps: pl.Series
) -> SplitPart:
    if len(ends):
        picks = [int(ends[0]), int(ends[-1]), int(ends[-1]) + horizon]
        times = stamps.gather(picks).to_numpy()
    else:
        times = np.array([], dtype="datetime64[us]")
    return SplitPart(X=feats[ends], y=labels[ends].astype(np.int64), ends=ends, timestamps=times)


@dataclass(frozen=True)
class PooledPart:
    """Several symbols' rows of one part, stacked, with each row's symbol index."""

    X: np.ndarray
    y: np.ndarray
    symbol_index: np.ndarray


def pool(datasets: Sequence[TabularData], part: str) -> PooledPart:
    """Stack ``part`` of every dataset (in order); symbol index = position in ``datasets``."""
    if part not in PARTS:
        raise ConfigError(f"part: must be one of {PARTS}, got {part!r}")
    check_pooled_split(datasets)
    chosen = [getattr(d, part) for d in datasets]
    return PooledPart(
        X=np.concatenate([p.X for p in chosen]),
        y=np.concatenate([p.y for p in chosen]),
        symbol_index=np.concatenate([np.full(len(p), i) for i, p in enumerate(chosen)]),
    )


def check_pooled_split(datasets: Sequence[TabularData]) -> None:
    """Raise when a symbol's earlier part ends (label included) after another's next part
    starts: the pooled model would then train on a time it is validated or tested on."""
    for earlier, later in (("train", "val"), ("val", "test")):
        ends = [getattr(d, earlier).window_range()["label_end"] for d in datasets]
        starts = [getattr(d, later).window_range()["start"] for d in datasets]
        ends, starts = [e for e in ends if e], [s for s in starts if s]
        if ends and starts and max(ends) >= min(starts):
            raise ConfigError(
                f"symbols: {earlier} labels end at {max(ends)}, after {later} starts at "
                f"{min(starts)} for another symbol; give all symbols the same period"
            )
