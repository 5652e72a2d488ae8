"""Causal market-regime detector: seven rule-based scores per bar, the best one wins.

Why rules and not a fitted model: the regime is an explanation the API shows and the
ensemble conditions on, so each label must be traceable to named indicator thresholds
(all in ``RegimeConfig``) and must never read a future bar.

Measurements at bar ``t`` (``models.regime.inputs``; all from bars ``<= t``):

- ``ADX``, ``+DI``, ``-DI``: Wilder DMI; ``B = (+DI - -DI) / (+DI + -DI)`` in [-1, 1].
- ``Ra``: percentile rank of ``ATR / close`` among the previous ``W`` - 1 bars
  (``W = bb_width_percentile_window``); ``Rw``: the same for Bollinger width / middle.
  ``Rmin``: the lowest ``Rw`` over the ``squeeze_lookback`` bars before ``t``.
- ``Zs``: least-squares slope of log close over ``slope_period`` bars times that period,
  over ``ATR/close * sqrt(slope_period)``; ``Zm``: log return over ``momentum_period``
  bars over ``ATR/close * sqrt(momentum_period)`` (moves in units of typical noise).
- ``V``: volume over the median volume of the ``volume_period`` bars before ``t``.
- ``Xu = (close - highest high of the breakout_period bars before t) / ATR``;
  ``Xd = (lowest low of those bars - close) / ATR``.

Soft conditions, ``s(x, thr, k) = 1 / (1 + exp(-(x - thr) / k))`` with ``k`` the matching
``*_softness``: ``trend = s(ADX, adx_trend)``, ``quiet = 1 - s(ADX, adx_range)``,
``squeeze = 1 - s(Rw, squeeze_percentile)``, ``expansion = s(Rw, expansion_percentile)``,
``hot = s(Ra, volatile_percentile)``, ``calm = 1 - hot``,
``recent = 1 - s(Rmin, squeeze_percentile)``, ``spike = s(V, volume_spike)``,
``up = s(Xu, breakout_atr)``, ``down = s(Xd, breakout_atr)``.
Direction ``U = (B + tanh(Zs / slope_scale) + tanh(Zm / momentum_scale)) / 3``;
``D = trend * |U|`` (how directional the market is).

Scores, each in [0, 1]:

- ``trending_bullish = trend * max(U, 0)``; ``trending_bearish = trend * max(-U, 0)``
- ``ranging = quiet * (1 - |U|) * (1 - squeeze) * calm``: weak ADX, no drift, normal width
- ``volatile = (hot + expansion) / 2 * (1 - D)``: wide ranges that go nowhere
- ``breakout_bullish = recent * up * spike``; ``breakout_bearish = recent * down * spike``:
  a close through the prior channel on heavy volume right after a Bollinger squeeze
- ``consolidation = squeeze * calm * (1 - D) * (1 - max(up, down) * spike)``: bands
  unusually narrow, no trend, and price not leaving its channel on heavy volume

Per bar the regime is the argmax (ties: first in ``REGIMES`` order); ``regime_confidence``
is best minus runner-up score; ``regime_transition_probability`` is
``1 - (1 - r) * (1 - runner_up_weight * runner_up / best)`` where ``r`` is the smoothed
switch rate of the regime sequence over the last ``transition_window`` bars
(``models.regime.transition``). Rows before ``min_bars - 1`` are warm-up (nulls).

Percentile ranks are relative to the trailing window, so "squeeze" and "hot" mean narrow or
wide *for this market lately*; that keeps one threshold meaningful across symbols. Wilder
smoothing is recursive, so :meth:`RegimeDetector.current` on a short window can differ
slightly from :func:`detect_regimes` on the full history at the same bar.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from models.data.validation import numeric_column
from models.errors import DataValidationError, InsufficientDataError
from models.regime.config import RegimeConfig
from models.regime.inputs import measure, warmup_bars
from models.regime.scoring import regime_scores
from models.regime.state import REGIMES, RegimeState
from models.regime.transition import label_and_confidence, transition_probability

REQUIRED_COLUMNS: tuple[str, ...] = ("high", "low", "close", "volume")
SCORE_COLUMNS: tuple[str, ...] = tuple(f"score_{name}" for name in REGIMES)
OUTPUT_COLUMNS: tuple[str, ...] = (
    "regime",
    "regime_confidence",
    "regime_transition_probability",
    *SCORE_COLUMNS,
)


def regime_arrays(
    df: pl.DataFrame,
    config: RegimeConfig | None = None,
    indicators: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """What :func:`detect_regimes` computes, as arrays (no frame is built): ``labels`` (index
    into ``REGIMES``, -1 in warm-up) and every float column of :data:`OUTPUT_COLUMNS` (NaN in
    warm-up). Same checks and errors. ``indicators``: the indicator columns computed from
    ``df``'s own candles, when the caller has them (see :func:`measure`)."""
    cfg = config if config is not None else RegimeConfig()
    scores = _score_matrix(df, cfg, indicators)
    labels, margin, ratio = label_and_confidence(scores)
    out = {
        "labels": labels,
        "regime_confidence": margin,
        "regime_transition_probability": transition_probability(labels, ratio, cfg),
    }
    out.update({name: scores[:, i] for i, name in enumerate(SCORE_COLUMNS)})
    return out


def regime_score_arrays(
    df: pl.DataFrame,
    config: RegimeConfig | None = None,
    indicators: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Only the :data:`SCORE_COLUMNS` of :func:`regime_arrays` (same values, checks and
    errors), without the labels, confidence and transition probability: for callers that
    read the scores alone, such as the leader's tree features."""
    scores = _score_matrix(df, config if config is not None else RegimeConfig(), indicators)
    return {name: scores[:, i] for i, name in enumerate(SCORE_COLUMNS)}


def _score_matrix(
    df: pl.DataFrame, cfg: RegimeConfig, indicators: Mapping[str, np.ndarray] | None
) -> np.ndarray:
    high, low, close, volume = _columns(df)
    scores: np.ndarray = regime_scores(measure(high, low, close, volume, cfg, indicators), cfg)
    return scores


def detect_regimes(df: pl.DataFrame, config: RegimeConfig | None = None) -> pl.DataFrame:
    """One row per bar of ``df``: regime, confidence, transition probability and scores.

    Causal: the first ``k`` rows of the result only depend on the first ``k`` bars.
    Raises :class:`DataValidationError` on missing or unusable columns.
    """
    arrays = regime_arrays(df, config)
    names = np.array([*REGIMES, None], dtype=object)[arrays["labels"]]  # -1 (warm-up) -> None
    columns: dict[str, pl.Series] = {"regime": pl.Series("regime", names.tolist(), dtype=pl.String)}
    for name in OUTPUT_COLUMNS[1:]:
        columns[name] = _float_series(name, arrays[name])
    return pl.DataFrame(columns)


class RegimeDetector:
    """The regime of the last bar of a window (what the live service asks for)."""

    def __init__(self, config: RegimeConfig | None = None) -> None:
        self.config = config if config is not None else RegimeConfig()

    @property
    def min_bars(self) -> int:
        """Fewest bars for which the last bar is past warm-up."""
        return warmup_bars(self.config) + 1

    def current(self, window: pl.DataFrame) -> RegimeState:
        """:class:`RegimeState` of the window's last bar; too short -> InsufficientDataError."""
        if window.height < self.min_bars:
            raise InsufficientDataError(self.min_bars, window.height, "regime window")
        last = detect_regimes(window, self.config).row(-1, named=True)
        return RegimeState(
            name=last["regime"],
            confidence=last["regime_confidence"],
            transition_probability=last["regime_transition_probability"],
            scores={name: last[f"score_{name}"] for name in REGIMES},
        )


def _columns(df: pl.DataFrame) -> tuple[np.ndarray, ...]:
    """The price and volume arrays, checked: present, numeric, finite, prices > 0."""
    arrays = []
    for name in REQUIRED_COLUMNS:
        values = numeric_column(df, name).astype(np.float64)  # a writable copy
        bad = ~np.isfinite(values) | (values < 0 if name == "volume" else values <= 0)
        if bad.any():
            row = int(np.argmax(bad))
            need = "finite and >= 0" if name == "volume" else "finite and > 0"
            raise DataValidationError(f"must be {need}, got {values[row]}", row=row, column=name)
        arrays.append(values)
    return tuple(arrays)


def _float_series(name: str, values: np.ndarray) -> pl.Series:
    return pl.Series(name, values, dtype=pl.Float64, nan_to_null=True)
