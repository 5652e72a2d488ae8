"""From candles to scaled, windowed, labelled arrays for one symbol.

:func:`prepare_symbol_data` computes the model features and labels once, splits the sample
end rows chronologically with an embargo (:mod:`models.training.splits`), fits the scaler
on the rows that training windows cover (never on validation or test rows) and returns
:class:`PreparedData`. Windows are gathered lazily from one scaled feature matrix
(:class:`Windows`), so a year of hourly bars does not become a copy per window.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import polars as pl

from models.data.times import restrict_period
from models.data.validation import OHLCV_COLUMNS, check_columns
from models.errors import ConfigError, DataValidationError
from models.features.model_features import FEATURE_COLUMNS, MAX_LOOKBACK, compute_model_features
from models.features.scaler import Scaler
from models.labels import LabelConfig, band_series, make_labels
from models.training.splits import chronological_split, required_embargo


@dataclass(frozen=True)
class Windows:
    """Array-like (n, seq_len, n_features) float32 view: window ``i`` ends at row ``ends[i]``."""

    features: np.ndarray
    ends: np.ndarray
    seq_len: int

    def __len__(self) -> int:
        return int(self.ends.shape[0])

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self), self.seq_len, int(self.features.shape[1]))

    def __getitem__(self, idx: Any) -> np.ndarray:
        ends = np.atleast_1d(self.ends[idx])
        rows = ends[:, None] + np.arange(1 - self.seq_len, 1)[None, :]
        out = self.features[rows]
        return out[0] if np.ndim(self.ends[idx]) == 0 else out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype)


@dataclass(frozen=True)
class SplitPart:
    """One chronological part: inputs ``X``, class ids ``y`` and the rows they end at.

    ``X`` is lazy windows for the networks, a (rows, features) array for tree models.
    """

    X: Windows | np.ndarray
    y: np.ndarray
    ends: np.ndarray
    timestamps: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return len(self.y)

    def window_range(self) -> dict[str, Any]:
        """First input bar, last input bar and last label bar (ISO, UTC) and the sample count."""
        if len(self) == 0:
            return {"start": None, "end": None, "label_end": None, "samples": 0}
        iso = [_iso(self.timestamps[i]) for i in (0, 1, 2)]
        return {"start": iso[0], "end": iso[1], "label_end": iso[2], "samples": len(self)}


@dataclass(frozen=True)
class LabelledParts:
    """One symbol's labelled train / validation / test parts and their provenance: what the
    networks' data and the trees' tabular data share (each adds its own inputs)."""

    train: SplitPart
    val: SplitPart
    test: SplitPart
    feature_names: tuple[str, ...]
    label_cfg: LabelConfig
    embargo: int
    data_hash: str
    data_window: dict[str, Any]
    band: np.ndarray = field(repr=False)
    """Flat band per candle row (label units), for the baselines."""
    last_return: np.ndarray = field(repr=False)
    """1-bar log return per candle row, for the momentum baseline."""


def labelled_fields(
    candles: pl.DataFrame,
    parts: dict[str, SplitPart],
    label_cfg: LabelConfig,
    embargo: int,
    **window_extra: Any,
) -> dict[str, Any]:
    """The :class:`LabelledParts` fields computed the same way for every kind of data."""
    digest = candle_hash(candles)
    close = candles["close"].to_numpy()
    ranges = {name: part.window_range() for name, part in parts.items()}
    window = {**ranges, "embargo_bars": embargo, "data_hash": digest, **window_extra}
    return {
        **parts,
        "label_cfg": label_cfg,
        "embargo": embargo,
        "data_hash": digest,
        "data_window": window,
        "band": band_series(close, label_cfg),
        "last_return": np.concatenate([[np.nan], np.diff(np.log(close))]),
    }


@dataclass(frozen=True)
class PreparedData(LabelledParts):
    """Everything training a network needs for one symbol, plus what is saved with the model."""

    scaler: Scaler
    seq_len: int

    @property
    def n_features(self) -> int:
        return len(self.feature_names)


def candle_hash(candles: pl.DataFrame) -> str:
    """sha256 over timestamps and OHLCV values: identifies the exact data a model saw."""
    digest = hashlib.sha256()
    digest.update(candles["timestamp"].dt.epoch("us").to_numpy().astype("<i8").tobytes())
    for col in OHLCV_COLUMNS[1:]:
        digest.update(candles[col].cast(pl.Float64).to_numpy().astype("<f8").tobytes())
    return digest.hexdigest()


def prepare_symbol_data(
    candles: pl.DataFrame,
    *,
    seq_len: int = 64,
    label_cfg: LabelConfig | None = None,
    val_frac: float = 0.15,
    test_frac: float = 0.15,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
) -> PreparedData:
    """Features, labels, an embargoed chronological split and a train-only scaler.

    ``start`` / ``end`` (inclusive / exclusive, UTC) restrict the candles first; the data
    hash covers exactly the rows used.
    """
    label_cfg = label_cfg or LabelConfig()
    if not isinstance(seq_len, int) or seq_len < 1:
        raise ConfigError(f"seq_len: must be a positive integer, got {seq_len!r}")
    candles = restrict_period(_check_candles(candles), start, end)
    feats = compute_model_features(candles).select(FEATURE_COLUMNS).to_numpy().astype(np.float64)
    labels = make_labels(candles, label_cfg).to_numpy()
    candidates = _candidate_ends(feats, labels, seq_len)
    embargo = required_embargo(label_cfg.horizon, MAX_LOOKBACK, seq_len)
    split = chronological_split(candidates, val_frac=val_frac, test_frac=test_frac, embargo=embargo)
    train_rows = np.arange(split.train[0] - seq_len + 1, split.train[-1] + 1)
    scaler = Scaler.fit(feats[train_rows])
    scaled = scaler.transform(feats)
    parts = {
        name: _part(scaled, labels, ends, seq_len, label_cfg.horizon, candles["timestamp"])
        for name, ends in (("train", split.train), ("val", split.val), ("test", split.test))
    }
    return PreparedData(
        **labelled_fields(candles, parts, label_cfg, embargo),
        feature_names=FEATURE_COLUMNS,
        scaler=scaler,
        seq_len=seq_len,
    )


def _check_candles(candles: pl.DataFrame) -> pl.DataFrame:
    check_columns(candles)
    steps = candles["timestamp"].diff().drop_nulls().dt.total_microseconds()
    if not steps.gt(0).all():
        raise DataValidationError("timestamps must be strictly increasing", column="timestamp")
    return candles


def _candidate_ends(feats: np.ndarray, labels: np.ndarray, seq_len: int) -> np.ndarray:
    """Rows whose whole input window has finite features and whose label is defined."""
    finite = np.isfinite(feats).all(axis=1).astype(np.int64)
    run = np.concatenate([[0], np.cumsum(finite)])
    ends = np.arange(seq_len - 1, feats.shape[0])
    full = (run[ends + 1] - run[ends + 1 - seq_len]) == seq_len
    has_label = ~np.isnan(labels[ends].astype(np.float64))
    candidates: np.ndarray = ends[full & has_label]
    return candidates


def _part(
    scaled: np.ndarray,
    labels: np.ndarray,
    ends: np.ndarray,
    seq_len: int,
    horizon: int,
    timestamps: pl.Series,
) -> SplitPart:
    y = labels[ends].astype(np.int64)
    if len(ends):
        picks = [ends[0] - seq_len + 1, ends[-1], ends[-1] + horizon]
        stamps = timestamps.gather(picks).to_numpy()
    else:
        stamps = np.array([], dtype="datetime64[us]")
    return SplitPart(X=Windows(scaled, ends, seq_len), y=y, ends=ends, timestamps=stamps)


def _iso(value: np.datetime64) -> str:
    return np.datetime_as_string(value, unit="s") + "Z"
