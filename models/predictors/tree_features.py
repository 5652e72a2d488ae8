"""Causal, scale-free tabular features of the gradient-boosted tree predictor (``lgbm``).

One row per hourly bar, built from what the library already computes causally:

- the neural models' inputs (:mod:`models.features.model_features`: returns, volatility,
  TA-Lib-exact indicators as ratios) plus longer returns and distances to the week's range;
- Smart Money Concepts state and events (:func:`models.smc.analyze_smc`), distances in ATRs;
- the seven regime scores, confidence and switch probability (:mod:`models.regime`);
- 4h and 1d features from closed higher bars only (:mod:`models.features.htf_features`);
- the leader's (BTCUSDT) features at the same closed bar, and returns relative to it.

Every column is a return, ratio, bounded score, count or ATR-scaled distance, so one model
can be pooled across symbols. :data:`FEATURE_SPECS` states each column's warm-up (the row
from which it is defined on a gap-free series, at the latest: higher-timeframe columns start
earlier when the series begins on a 4h / day boundary) and whether it may still be NaN after it
("none": no active zone, no break yet). LightGBM routes NaN natively, so sparse columns
stay NaN instead of being filled with made-up values. Row ``t`` reads bars ``<= t`` only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from models.features.htf_features import epoch_micros, htf_feature_arrays, htf_feature_warmups
from models.features.indicators import (
    ensure_indicator_arrays,
    has_indicators,
    indicator_arrays,
    rolling_std,
)
from models.features.model_features import model_feature_arrays
from models.features.rolling import rolling_max, rolling_min
from models.predictors.leader import leader_candles
from models.regime.config import RegimeConfig
from models.regime.detector import SCORE_COLUMNS, regime_arrays, regime_score_arrays
from models.regime.inputs import warmup_bars
from models.smc.analyzer import INDEX_COLUMNS as _SMC_INDEX_COLUMNS
from models.smc.analyzer import analyze_smc_arrays
from models.smc.config import SmcConfig

LEADER_SYMBOL = "BTCUSDT"
"""The market leader whose features every symbol also sees."""


AGE_CAP = 240
"""Bars after which the age of the last break / sweep is reported as this cap (ten days):
older events say little, and the cap keeps the value the same on any long enough window."""


@dataclass(frozen=True)
class FeatureSpec:
    """A feature column: first defined row on gap-free data, and whether NaN means "none"."""

    name: str
    warmup: int
    sparse: bool = False


_NET_WARMUP = {
    "log_ret_1": 1,
    "log_ret_4": 4,
    "log_ret_12": 12,
    "log_ret_24": 24,
    "volatility_24": 24,
    "close_location": 0,
    "range_hl": 0,
    "close_sma_20": 19,
    "close_ema_12": 11,
    "close_ema_26": 25,
    "rsi": 14,
    "macd_hist": 33,
    "bb_pct_b": 19,
    "bb_width": 19,
    "atr": 14,
    "adx": 27,
    "di_diff": 14,
    "stoch_k": 17,
    "stoch_d": 17,
    "volume_z": 168,
    "hour_sin": 0,
    "hour_cos": 0,
}
_EXTRA_WARMUP = {
    "log_ret_48": 48,
    "log_ret_168": 168,
    "vol_ratio_168": 168,
    "high_168_dist": 167,
    "low_168_dist": 167,
}
_SMC_DENSE = (
    "smc_trend",
    "smc_last_break_dir",
    "smc_bos",
    "smc_choch",
    "smc_sweep",
    "smc_last_sweep_dir",
    "smc_ob_bull_active",
    "smc_ob_bear_active",
    "smc_fvg_bull_active",
    "smc_fvg_bear_active",
)
_SMC_SPARSE = (
    "smc_last_break_age",
    "smc_last_sweep_age",
    "smc_ob_bull_dist",
    "smc_ob_bear_dist",
    "smc_fvg_bull_dist",
    "smc_fvg_bear_dist",
    "smc_swing_high_dist",
    "smc_swing_low_dist",
    "smc_liq_high_dist",
    "smc_liq_low_dist",
)
_REGIME_COLUMNS = (*SCORE_COLUMNS, "regime_confidence", "regime_transition_probability")
_SMC_CONFIG = SmcConfig()
"""The SMC settings of the features: its ATR(14) scale is the ATR(14) indicator column."""
_SMC_INDEX = frozenset(_SMC_INDEX_COLUMNS)
LEADER_SOURCES: tuple[str, ...] = (
    "log_ret_1",
    "log_ret_4",
    "log_ret_24",
    "log_ret_168",
    "volatility_24",
    "rsi",
    "di_diff",
    "bb_pct_b",
    "d1_log_ret_1",
    "d1_rsi",
    "score_trending_bullish",
    "score_trending_bearish",
)
"""Own features also taken from the leader (as ``leader_<name>``)."""


def _own_specs() -> list[FeatureSpec]:
    regime_warmup = warmup_bars(RegimeConfig())
    specs = [FeatureSpec(n, w) for n, w in {**_NET_WARMUP, **_EXTRA_WARMUP}.items()]
    specs += [FeatureSpec(n, 0) for n in _SMC_DENSE]
    specs += [FeatureSpec(n, 14, sparse=True) for n in _SMC_SPARSE]
    specs += [FeatureSpec(n, regime_warmup) for n in _REGIME_COLUMNS]
    specs += [FeatureSpec(n, w) for n, w in htf_feature_warmups().items()]
    return specs


def _all_specs() -> tuple[FeatureSpec, ...]:
    own = {s.name: s for s in _own_specs()}
    # Leader columns are NaN where the leader has no bar at that time: sparse.
    leader = [FeatureSpec(f"leader_{n}", own[n].warmup, sparse=True) for n in LEADER_SOURCES]
    rel = [FeatureSpec(f"rel_ret_{lag}", lag, sparse=True) for lag in (24, 168)]
    return (*own.values(), *leader, *rel)


FEATURE_SPECS: tuple[FeatureSpec, ...] = _all_specs()
TREE_FEATURES: tuple[str, ...] = tuple(s.name for s in FEATURE_SPECS)
"""Feature names in the order of the model's input vector."""
OWN_FEATURES: tuple[str, ...] = tuple(s.name for s in _own_specs())
FEATURE_LOOKBACK: int = max(s.warmup for s in FEATURE_SPECS)
"""Earlier bars a row needs before every feature is defined (the split's embargo uses it)."""
WINDOW_BARS = 720
"""Bars the predictor asks for (30 days): every feature defined, plus about two weeks for the
recursive smoothers (EMA, Wilder) and the SMC state (trend, active zones) to forget where the
window starts, so a live window gives nearly the features the model was trained on from the
full history (measured in ``tests/predictors/test_lgbm.py``)."""


@dataclass(frozen=True)
class FeatureBlock:
    """Feature rows of one symbol's candles, in numpy: what the frame functions below wrap.

    ``timestamps``: open times, epoch microseconds (int64); ``values``: (rows, len(names))
    float64, NaN during warm-up / "none".
    """

    timestamps: np.ndarray
    values: np.ndarray
    names: tuple[str, ...]

    def column(self, name: str) -> np.ndarray:
        """One feature's values (a view)."""
        col: np.ndarray = self.values[:, self.names.index(name)]
        return col

    def frame(self, timestamp: pl.Series) -> pl.DataFrame:
        """``timestamp`` (the candles' own column) plus every feature as Float64."""
        table = pl.from_numpy(self.values, schema=list(self.names), orient="row")
        return table.insert_column(0, timestamp)


def _log_return(log_close: np.ndarray, lag: int) -> np.ndarray:
    """``log_close[t] - log_close[t - lag]`` (NaN for the first ``lag`` rows)."""
    shifted = np.full_like(log_close, np.nan)
    shifted[lag:] = log_close[:-lag]
    out: np.ndarray = log_close - shifted
    return out


def _extra_price_features(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    log_close = np.log(cols["close"])
    out = {f"log_ret_{lag}": _log_return(log_close, lag) for lag in (48, 168)}
    vol_long = rolling_std(cols["log_ret_1"], 168)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["vol_ratio_168"] = np.where(vol_long > 0, cols["volatility_24"] / vol_long, 1)
    out["vol_ratio_168"][np.isnan(vol_long)] = np.nan
    out["high_168_dist"] = log_close - np.log(rolling_max(cols["high"], 168))
    out["low_168_dist"] = log_close - np.log(rolling_min(cols["low"], 168))
    return out


def _smc_features(df: pl.DataFrame, close: np.ndarray, scale: np.ndarray) -> dict[str, np.ndarray]:
    """SMC state as features; ``scale`` is the ATR(14) column (NaN in its warm-up)."""
    smc = analyze_smc_arrays(df, _SMC_CONFIG, atr=scale).columns

    def col(name: str) -> np.ndarray:
        values = np.asarray(smc[name], dtype=np.float64)
        if name in _SMC_INDEX:  # -1 means "none": NaN, as the frame's null
            values = np.where(values < 0, np.nan, values)
        return values

    out = {
        f"smc_{n}": col(n)
        for n in ("trend", "last_break_dir", "bos", "choch", "sweep", "last_sweep_dir")
    }
    for kind in ("ob", "fvg"):
        for side in ("bull", "bear"):
            out[f"smc_{kind}_{side}_active"] = col(f"{kind}_{side}_active")
    for name in ("last_break_age", "last_sweep_age"):
        out[f"smc_{name}"] = np.minimum(col(name), AGE_CAP)
    with np.errstate(divide="ignore", invalid="ignore"):
        below = {  # distance from a level below the close, in ATRs (>= 0 when below)
            "ob_bull_dist": col("ob_bull_top"),
            "fvg_bull_dist": col("fvg_bull_top"),
            "swing_low_dist": col("swing_low_level"),
            "liq_low_dist": col("liquidity_low"),
        }
        above = {
            "ob_bear_dist": col("ob_bear_bottom"),
            "fvg_bear_dist": col("fvg_bear_bottom"),
            "swing_high_dist": col("swing_high_level"),
            "liq_high_dist": col("liquidity_high"),
        }
        out.update({f"smc_{k}": (close - v) / scale for k, v in below.items()})
        out.update({f"smc_{k}": (v - close) / scale for k, v in above.items()})
    return out


def _feature_columns(candles: pl.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Open times and the own feature columns (:data:`OWN_FEATURES`) of ``candles``."""
    computed, indicators, prices, cols = _base_columns(candles)
    cols.update(_extra_price_features({**prices, **cols}))
    cols.update(_smc_features(candles, prices["close"], indicators["atr_14"]))
    regimes = regime_arrays(candles, indicators=indicators if computed else None)
    cols.update({n: regimes[n] for n in _REGIME_COLUMNS})
    micros = epoch_micros(candles)
    cols.update(htf_feature_arrays(micros, prices["high"], prices["low"], prices["close"]))
    return micros, cols


def _base_columns(
    candles: pl.DataFrame,
) -> tuple[bool, dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(indicators computed here?, the indicator columns, high / low / close, the neural
    models' feature columns) of ``candles``: what both the own and the leader's part read."""
    computed = not has_indicators(candles)  # else the window's own (from a longer history)
    indicators = indicator_arrays(candles) if computed else ensure_indicator_arrays(candles)
    net = model_feature_arrays(candles, indicators)
    prices = {c: candles[c].cast(pl.Float64).to_numpy() for c in ("high", "low", "close")}
    return computed, indicators, prices, dict(net)


def _leader_columns(leader: pl.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Open times and the :data:`LEADER_SOURCES` columns of the leader's candles, computing
    only what they read (no 4h bars, no regime labels, of the longer price features only
    ``log_ret_168``): the same functions on the same prices as :func:`_feature_columns`."""
    computed, indicators, prices, cols = _base_columns(leader)
    cols["log_ret_168"] = _log_return(np.log(prices["close"]), 168)
    cols.update(regime_score_arrays(leader, indicators=indicators if computed else None))
    micros = epoch_micros(leader)
    daily = htf_feature_arrays(micros, prices["high"], prices["low"], prices["close"], ("d1",))
    cols.update(daily)
    return micros, cols


def own_feature_block(candles: pl.DataFrame) -> FeatureBlock:
    """:data:`OWN_FEATURES` of one symbol (no leader columns), in numpy."""
    micros, cols = _feature_columns(candles)
    values = np.column_stack([cols[n] for n in OWN_FEATURES]).astype(np.float64, copy=False)
    return FeatureBlock(micros, values, OWN_FEATURES)


def own_features(candles: pl.DataFrame) -> pl.DataFrame:
    """``timestamp`` plus :data:`OWN_FEATURES` of one symbol (no leader columns)."""
    return own_feature_block(candles).frame(candles["timestamp"])


LEADER_NAMES: tuple[str, ...] = tuple(f"leader_{n}" for n in LEADER_SOURCES)
"""The leader feature columns, in the order of :data:`LEADER_SOURCES`."""
_LEADER_INDEX = [OWN_FEATURES.index(n) for n in LEADER_SOURCES]


def leader_block(own: FeatureBlock) -> FeatureBlock:
    """The ``leader_*`` columns taken from the leader's own features."""
    return FeatureBlock(own.timestamps, own.values[:, _LEADER_INDEX], LEADER_NAMES)


def leader_feature_block(leader: pl.DataFrame) -> FeatureBlock:
    """The ``leader_*`` features of the leader's candles (shared by every symbol's window at
    the same bars: callers cache it). The same columns as :func:`own_feature_block` gives,
    without computing the SMC ones or the others no leader feature reads."""
    micros, cols = _leader_columns(leader)
    values = np.column_stack([cols[n] for n in LEADER_SOURCES]).astype(np.float64, copy=False)
    return FeatureBlock(micros, values, LEADER_NAMES)


def leader_features(leader: pl.DataFrame) -> pl.DataFrame:
    """``timestamp`` plus the ``leader_*`` feature columns computed from the leader's candles
    (what :func:`tree_features` joins; shared by every symbol's window at the same bars)."""
    return leader_feature_block(leader).frame(leader["timestamp"])


def _joined(own: FeatureBlock, source: FeatureBlock | None) -> np.ndarray:
    """The leader's columns at each of ``own``'s open times (NaN where it has no bar)."""
    out = np.full((own.timestamps.size, len(LEADER_NAMES)), np.nan)
    if source is None or not source.timestamps.size:
        return out
    stamps, values = source.timestamps, source.values
    if np.any(np.diff(stamps) <= 0):
        order = np.argsort(stamps, kind="stable")
        stamps, values = stamps[order], values[order]
    at = np.minimum(np.searchsorted(stamps, own.timestamps), stamps.size - 1)
    found = stamps[at] == own.timestamps
    out[found] = values[at[found]]
    return out


def _assemble(own: np.ndarray, lead: np.ndarray) -> np.ndarray:
    """(rows, TREE_FEATURES) from own rows and the leader's rows at the same bars."""
    rel = [
        own[:, _OWN_INDEX[f"log_ret_{lag}"]] - lead[:, LEADER_NAMES.index(f"leader_log_ret_{lag}")]
        for lag in (24, 168)
    ]
    return np.column_stack([own, lead, *rel])


_OWN_INDEX = {name: i for i, name in enumerate(OWN_FEATURES)}


def tree_feature_row(own_row: np.ndarray, leader_row: np.ndarray | None) -> np.ndarray:
    """The :data:`TREE_FEATURES` vector of one bar, from its :data:`OWN_FEATURES` and the
    leader's ``leader_*`` features at the same bar (None: the leader has no bar there)."""
    lead = np.full(len(LEADER_NAMES), np.nan) if leader_row is None else leader_row
    row: np.ndarray = _assemble(own_row[None, :], np.asarray(lead, dtype=np.float64)[None, :])[0]
    return row


def tree_feature_block(
    candles: pl.DataFrame,
    leader: pl.DataFrame | None = None,
    leader_source: FeatureBlock | None = None,
) -> FeatureBlock:
    """:data:`TREE_FEATURES` of every row of ``candles``, in numpy (see :func:`tree_features`)."""
    own = own_feature_block(candles)
    if leader_source is None:
        leader = leader if leader is not None else leader_candles(candles)
        if leader is candles:  # the leader's own window: its features are computed above
            leader_source = leader_block(own)
        elif leader is not None and leader.height > 0:
            leader_source = leader_feature_block(leader)
    values = _assemble(own.values, _joined(own, leader_source))
    return FeatureBlock(own.timestamps, values, _BLOCK_NAMES)


_BLOCK_NAMES = (*OWN_FEATURES, *LEADER_NAMES, "rel_ret_24", "rel_ret_168")
"""The order the block's columns are stacked in: :data:`TREE_FEATURES` (tested)."""


def tree_features(
    candles: pl.DataFrame,
    leader: pl.DataFrame | None = None,
    leader_source: FeatureBlock | None = None,
) -> pl.DataFrame:
    """``timestamp`` plus :data:`TREE_FEATURES` (Float64, NaN during warm-up / "none").

    ``leader`` (the leader's candles) defaults to the window's ``leader_*`` columns; without
    either, the leader columns are NaN (the predictor refuses that for models that use them).
    ``leader_source``: :func:`leader_feature_block` of the leader, when already computed.
    """
    block = tree_feature_block(candles, leader, leader_source)
    return block.frame(candles["timestamp"])
