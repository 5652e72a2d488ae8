"""What actually happened after each evaluated bar: labels, returns, and when they are known.

Everything here reads the future on purpose (it is the answer key) and is used only to
score signals, never to make them. Definitions:

- ``label``: the class of :func:`models.labels.make_labels` (the same the networks
  were trained on): forward log return over ``h`` bars against the volatility band known at
  ``t``; NaN at the last ``h`` bars and where the ``h`` bars span an exchange gap.
- ``forward_return``: ``log(close[t+h] / close[t])``, NaN wherever ``label`` is NaN.
- ``next_return``: ``close[t+1] / close[t] - 1`` (what a position held over one bar earns);
  NaN after the last bar of the data.
- ``resolve_row`` / ``realized_return``: when the live service would learn the outcome of
  the signal issued at ``t``: at the first bar whose open time is at least ``h`` intervals
  after ``t``'s (the store resolves by time, so a gap delays it), with the log return from
  ``close[t]`` to that bar's close. ``resolve_row`` is -1 when that bar is not in the data.
- ``regime``: the detected regime at ``t`` (:func:`models.regime.detector.detect_regimes`
  over the whole history up to ``t``; causal), ``"warmup"`` before it is defined.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from models.labels import LabelConfig, band_series, forward_log_return, make_labels
from models.regime.detector import detect_regimes

WARMUP = "warmup"


@dataclass(frozen=True)
class Outcomes:
    """The answer key for the evaluated rows (arrays aligned with the rows)."""

    rows: np.ndarray
    timestamps: np.ndarray
    label: np.ndarray
    forward_return: np.ndarray
    next_return: np.ndarray
    band: np.ndarray
    resolve_row: np.ndarray
    realized_return: np.ndarray
    regime: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def labelled(self) -> np.ndarray:
        """Rows whose label (and forward return) is defined."""
        defined: np.ndarray = ~np.isnan(self.label)
        return defined


def resolve_rows(timestamps: np.ndarray, horizon: int) -> np.ndarray:
    """Row of the first bar at least ``horizon`` median intervals after each bar (-1: none)."""
    ts = np.asarray(timestamps).astype("datetime64[us]").astype(np.int64)
    if ts.size < 2:
        return np.full(ts.size, -1, dtype=np.int64)
    step = int(np.median(np.diff(ts)))
    found = np.searchsorted(ts, ts + horizon * step, side="left")
    return np.where(found < ts.size, found, -1).astype(np.int64)


def compute_outcomes(
    candles: pl.DataFrame,
    rows: np.ndarray,
    label_cfg: LabelConfig | None = None,
    regimes: pl.DataFrame | None = None,
) -> Outcomes:
    """The answer key for ``rows`` of ``candles`` (which extend past them when they can).

    ``regimes`` is :func:`detect_regimes` of ``candles`` when the caller already has it.
    """
    cfg = label_cfg or LabelConfig()
    rows = np.asarray(rows, dtype=np.int64)
    close = candles["close"].cast(pl.Float64).to_numpy()
    timestamps = candles["timestamp"].to_numpy()
    label = make_labels(candles, cfg).cast(pl.Float64).fill_null(np.nan).to_numpy()
    fwd = np.where(np.isnan(label), np.nan, forward_log_return(close, cfg.horizon))
    nxt = np.full(close.size, np.nan)
    nxt[:-1] = close[1:] / close[:-1] - 1.0
    resolve = resolve_rows(timestamps, cfg.horizon)
    realized = np.where(resolve >= 0, np.log(close[np.maximum(resolve, 0)] / close), np.nan)
    if regimes is None:
        regimes = detect_regimes(candles)
    names = regimes["regime"].fill_null(WARMUP).to_numpy()
    return Outcomes(
        rows=rows,
        timestamps=timestamps[rows],
        label=label[rows],
        forward_return=fwd[rows],
        next_return=nxt[rows],
        band=band_series(close, cfg)[rows],
        resolve_row=resolve[rows],
        realized_return=realized[rows],
        regime=names[rows].astype(str),
    )
