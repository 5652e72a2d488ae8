"""Direction labels: the forward log return over ``horizon`` bars against a volatility band.

``r_t = log(close[t+h] / close[t])``; the class is ``up`` when ``r_t > k * sigma_t * sqrt(h)``,
``down`` when ``r_t < -k * sigma_t * sqrt(h)`` and ``flat`` otherwise. ``sigma_t`` is the
trailing standard deviation of 1-bar log returns over ``vol_window`` bars ending at ``t``, so
the band itself is known at ``t`` (the service needs it live, see :func:`flat_band`); only
``close[t+h]`` looks forward, which is what a label is for. Scaling the band by volatility keeps
the three classes balanced across calm and wild periods instead of being all-flat in 2023 and
all-move in 2021.

Rows without a label are null: the last ``h`` rows (no future yet), the warm-up rows without
``sigma_t``, and rows whose ``h`` forward bars span an exchange gap (the return would cover
more time than the horizon says).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl

from models.config_errors import is_int, is_real
from models.data.times import epoch_us_array
from models.errors import ConfigError, DataValidationError, InsufficientDataError
from models.features.indicators import rolling_std
from models.vocabulary import CLASSES, DEFAULT_HORIZON, DOWN, FLAT, UP


@dataclass(frozen=True)
class LabelConfig:
    """How labels are defined; saved with every model so the service uses the same band.

    ``flat_k = 0.4`` gives 28-32 % down, 37-44 % flat and 28-31 % up on each of the ten
    hourly Binance symbols (2021-2023): returns are fat-tailed, so 0.5 already makes half
    of all bars flat and 0.3 calls noise-sized moves "up".
    ``vol_window = 48`` bars (two days) reacts to volatility regimes within a day or two
    while being long enough for a stable standard deviation.
    """

    horizon: int = DEFAULT_HORIZON
    flat_k: float = 0.4
    vol_window: int = 48

    def __post_init__(self) -> None:
        if not is_int(self.horizon) or self.horizon < 1:
            raise ConfigError(f"horizon: must be an integer >= 1, got {self.horizon!r}")
        if not is_real(self.flat_k) or not math.isfinite(self.flat_k) or self.flat_k < 0:
            raise ConfigError(f"flat_k: must be a finite number >= 0, got {self.flat_k!r}")
        if not is_int(self.vol_window) or self.vol_window < 2:
            raise ConfigError(f"vol_window: must be an integer >= 2, got {self.vol_window!r}")

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabelConfig:
        unknown = set(data) - {"horizon", "flat_k", "vol_window"}
        if unknown:
            raise ConfigError(f"label config: unknown keys {sorted(unknown)}")
        return cls(**data)


def _close(df: pl.DataFrame) -> np.ndarray:
    if "close" not in df.columns:
        raise DataValidationError("missing column", column="close")
    close: np.ndarray = df["close"].cast(pl.Float64).to_numpy()
    if np.any(~np.isfinite(close)) or np.any(close <= 0):
        raise DataValidationError("prices must be finite and > 0", column="close")
    return close


def trailing_sigma(close: np.ndarray, vol_window: int) -> np.ndarray:
    """Std (population) of the ``vol_window`` 1-bar log returns ending at each bar; NaN before.

    Uses the indicators' rolling kernel, whose fixed summation order makes the band at a
    bar identical whether computed on a short live window or on the full history.
    """
    log_ret = np.concatenate([[np.nan], np.diff(np.log(close))])
    return rolling_std(log_ret, vol_window)


def band_series(close: np.ndarray, cfg: LabelConfig) -> np.ndarray:
    """The flat band ``k * sigma_t * sqrt(h)`` at every bar (NaN during warm-up); causal."""
    return cfg.flat_k * trailing_sigma(close, cfg.vol_window) * math.sqrt(cfg.horizon)


def forward_log_return(close: np.ndarray, horizon: int) -> np.ndarray:
    """``log(close[t+h] / close[t])``; NaN for the last ``horizon`` bars."""
    out = np.full(close.shape[0], np.nan)
    if close.shape[0] > horizon:
        out[:-horizon] = np.log(close[horizon:] / close[:-horizon])
    return out


def _spans_gap(timestamps: pl.Series, horizon: int) -> np.ndarray:
    """True where the ``horizon`` bars after ``t`` are not contiguous (an exchange gap)."""
    ts = epoch_us_array(timestamps)
    out = np.zeros(ts.shape[0], dtype=bool)
    if ts.shape[0] <= horizon:
        return out
    step = int(np.median(np.diff(ts)))
    out[:-horizon] = (ts[horizon:] - ts[:-horizon]) != step * horizon
    return out


def make_labels(df: pl.DataFrame, cfg: LabelConfig | None = None) -> pl.Series:
    """Class id per bar (``Int8``: down=0, flat=1, up=2), null where no label is defined."""
    cfg = cfg or LabelConfig()
    close = _close(df)
    fwd = forward_log_return(close, cfg.horizon)
    band = band_series(close, cfg)
    labels = np.where(fwd > band, UP, np.where(fwd < -band, DOWN, FLAT)).astype(np.float64)
    invalid = np.isnan(fwd) | np.isnan(band)
    if "timestamp" in df.columns:
        invalid |= _spans_gap(df["timestamp"], cfg.horizon)
    labels[invalid] = np.nan
    label: pl.Series = pl.Series("label", labels, nan_to_null=True).cast(pl.Int8)
    return label


def flat_band(window: pl.DataFrame, cfg: LabelConfig | None = None) -> float:
    """The flat threshold on the ``h``-bar log return at the window's last bar."""
    cfg = cfg or LabelConfig()
    close = _close(window)
    if close.shape[0] < cfg.vol_window + 1:
        raise InsufficientDataError(cfg.vol_window + 1, close.shape[0], "flat band window")
    return float(band_series(close[-cfg.vol_window - 1 :], cfg)[-1])


def class_balance(labels: pl.Series | np.ndarray) -> dict[str, float]:
    """Share of each class among the defined labels (down, flat, up)."""
    values = labels.drop_nulls().to_numpy() if isinstance(labels, pl.Series) else labels
    values = np.asarray(values, dtype=np.int64)
    counts = np.bincount(values, minlength=len(CLASSES))[: len(CLASSES)]
    total = max(int(counts.sum()), 1)
    return {name: float(c) / total for name, c in zip(CLASSES, counts, strict=True)}
