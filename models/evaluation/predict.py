"""Per-bar predictions and regimes for an evaluation period, computed once and shared.

Each predictor sees, for bar ``t``, only the candles up to ``t``: the frame handed to
:meth:`Predictor.predict_frame` is cut after the last evaluated row, and ``predict_frame``
itself uses bars ``<= t`` for row ``t`` (its contract). A predictor that fails on a bar (too
little history, a model error) gives ``None`` there: the ensemble sees it as missing, and
its coverage shows the gap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from models.errors import SmartMarketError
from models.features.indicators import ensure_indicators
from models.predictors.base import Prediction, Predictor
from models.regime.state import REGIMES, RegimeState

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PredictorSpec:
    """A predictor to evaluate and the window length it is given live (``None``: all bars)."""

    predictor: Predictor
    window_bars: int | None = None
    version: str | None = None
    batch_rows: int | None = None
    """Rows per ``predict_frame`` call (networks: bounds memory); ``None``: all in one."""


def predict_period(
    candles: pl.DataFrame,
    rows: np.ndarray,
    specs: Mapping[str, PredictorSpec],
    progress: Progress | None = None,
) -> dict[str, list[Prediction | None]]:
    """``{name: [prediction or None per row]}`` for every predictor in ``specs``."""
    rows = np.asarray(rows, dtype=np.int64)
    history = ensure_indicators(candles.head(int(rows[-1]) + 1)) if rows.size else candles
    out: dict[str, list[Prediction | None]] = {}
    for name, spec in specs.items():
        started = time.perf_counter()
        out[name] = _predict_rows(spec, history, rows)
        if progress is not None:
            missing = sum(p is None for p in out[name])
            progress(
                f"{name}: {rows.size} bars in {time.perf_counter() - started:.1f}s"
                + (f" ({missing} without a prediction)" if missing else "")
            )
    return out


def _predict_rows(
    spec: PredictorSpec, history: pl.DataFrame, rows: np.ndarray
) -> list[Prediction | None]:
    """All rows (in chunks of ``batch_rows``); on a failure, that chunk row by row."""
    size = spec.batch_rows or max(rows.size, 1)
    out: list[Prediction | None] = []
    for i in range(0, rows.size, size):
        out.extend(_predict_chunk(spec, history, rows[i : i + size]))
    return out


def _predict_chunk(
    spec: PredictorSpec, history: pl.DataFrame, rows: np.ndarray
) -> list[Prediction | None]:
    predictor = spec.predictor
    try:
        return list(predictor.predict_frame(history, rows.tolist(), spec.window_bars))
    except SmartMarketError:
        pass  # one bar without enough history or with a bad value: find which, keep the rest
    out: list[Prediction | None] = []
    for t in rows.tolist():
        try:
            out.append(predictor.predict_frame(history, [t], spec.window_bars)[0])
        except SmartMarketError:
            out.append(None)
    return out


def regime_states(regimes: pl.DataFrame, rows: np.ndarray) -> list[RegimeState | None]:
    """The :class:`RegimeState` at each of ``rows`` of :func:`detect_regimes` output."""
    picked = regimes[np.asarray(rows, dtype=np.int64)]
    states: list[RegimeState | None] = []
    for row in picked.iter_rows(named=True):
        if row["regime"] is None:
            states.append(None)
            continue
        states.append(
            RegimeState(
                name=row["regime"],
                confidence=row["regime_confidence"],
                transition_probability=row["regime_transition_probability"],
                scores={name: row[f"score_{name}"] for name in REGIMES},
            )
        )
    return states
