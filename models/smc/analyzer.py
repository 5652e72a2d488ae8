"""Causal Smart Money Concepts analysis: one row per input bar, nothing from the future.

Every event appears at the row of the bar whose close makes it knowable, and every state
column describes what is known after that bar closes, so the output on the first ``k`` bars
is exactly the first ``k`` rows of the output on more bars (tested by prefix replay).

Columns (``timestamp`` first when the input has it). Events (null / NaN / 0 when none):

- ``swing_high_confirmed``, ``swing_low_confirmed``: pivot price at its confirming row
  ``i + swing_length``; ``swing_high_index``, ``swing_low_index``: the pivot's bar ``i``.
- ``bos``, ``choch``: +1 / -1 at a bullish / bearish break of structure or change of
  character; ``break_level`` and ``break_swing_index``: the broken swing and its bar.
- ``ob_bull_new_top/_bottom/_index``, ``ob_bear_new_*``: order block created at this row
  (band and bar of its candle); ``ob_bull_mitigated``, ``ob_bear_mitigated``: blocks
  mitigated at this row.
- ``fvg_bull_new_top/_bottom``, ``fvg_bear_new_*``: gap formed at this row;
  ``fvg_*_partial``, ``fvg_*_filled``: gaps first partially / fully filled at this row.
- ``equal_high_level/_index``, ``equal_low_level/_index``: equal pair confirmed at this row
  (level and the earlier pivot's bar); ``sweep`` (+1 lows swept, -1 highs swept),
  ``sweep_high_level``, ``sweep_low_level``, ``sweep_equal`` (an equal level was swept).

State after the bar:

- ``trend`` (+1 / -1, 0 before the first break); ``swing_high_level``, ``swing_low_level``:
  last confirmed swings; ``last_break_dir`` and ``last_break_age`` (bars since it).
- ``ob_bull_active``, ``ob_bear_active``, ``fvg_bull_active``, ``fvg_bear_active``: counts;
  ``ob_bull_top/_bottom/_index`` etc.: the active band nearest to the close and the bar it
  formed at (a gap's middle candle); NaN / null when none. A gap's band is its unfilled part.
- ``liquidity_high``, ``liquidity_low``: nearest open swing levels above / below;
  ``last_sweep_dir`` and ``last_sweep_age``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from models.errors import ConfigError
from models.smc.config import SmcConfig
from models.smc.fair_value_gaps import FairValueGaps, detect_fair_value_gaps
from models.smc.inputs import candles_from_frame, volatility_scale
from models.smc.liquidity import detect_liquidity
from models.smc.order_blocks import OrderBlocks, detect_order_blocks
from models.smc.structure import detect_structure
from models.smc.swings import detect_swings

INDEX_COLUMNS: tuple[str, ...] = (
    "swing_high_index",
    "swing_low_index",
    "break_swing_index",
    "ob_bull_new_index",
    "ob_bear_new_index",
    "ob_bull_index",
    "ob_bear_index",
    "fvg_bull_index",
    "fvg_bear_index",
    "equal_high_index",
    "equal_low_index",
    "last_break_age",
    "last_sweep_age",
)
"""Integer columns where -1 internally means "none"; they are null in the output."""

SMC_COLUMNS: tuple[str, ...] = (
    "swing_high_confirmed",
    "swing_high_index",
    "swing_low_confirmed",
    "swing_low_index",
    "bos",
    "choch",
    "break_level",
    "break_swing_index",
    "trend",
    "swing_high_level",
    "swing_low_level",
    "last_break_dir",
    "last_break_age",
    "ob_bull_new_top",
    "ob_bull_new_bottom",
    "ob_bull_new_index",
    "ob_bull_mitigated",
    "ob_bull_active",
    "ob_bull_top",
    "ob_bull_bottom",
    "ob_bull_index",
    "ob_bear_new_top",
    "ob_bear_new_bottom",
    "ob_bear_new_index",
    "ob_bear_mitigated",
    "ob_bear_active",
    "ob_bear_top",
    "ob_bear_bottom",
    "ob_bear_index",
    "fvg_bull_new_top",
    "fvg_bull_new_bottom",
    "fvg_bull_partial",
    "fvg_bull_filled",
    "fvg_bull_active",
    "fvg_bull_top",
    "fvg_bull_bottom",
    "fvg_bull_index",
    "fvg_bear_new_top",
    "fvg_bear_new_bottom",
    "fvg_bear_partial",
    "fvg_bear_filled",
    "fvg_bear_active",
    "fvg_bear_top",
    "fvg_bear_bottom",
    "fvg_bear_index",
    "equal_high_level",
    "equal_high_index",
    "equal_low_level",
    "equal_low_index",
    "sweep",
    "sweep_high_level",
    "sweep_low_level",
    "sweep_equal",
    "liquidity_high",
    "liquidity_low",
    "last_sweep_dir",
    "last_sweep_age",
)
"""Every column :func:`analyze_smc` returns (besides ``timestamp``), in order."""


def _last_event(direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Direction of the latest non-zero event up to each row and its age (-1: none yet)."""
    rows = np.arange(len(direction))
    last = np.maximum.accumulate(np.where(direction != 0, rows, -1)) if len(rows) else rows
    has = last >= 0
    last_dir = np.where(has, direction[np.where(has, last, 0)], 0).astype(np.int8)
    return last_dir, np.where(has, rows - last, -1)


def _zone_columns(blocks: OrderBlocks, gaps: FairValueGaps) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {}
    for name, side in (("bull", blocks.bull), ("bear", blocks.bear)):
        cols[f"ob_{name}_new_top"] = side.new_top
        cols[f"ob_{name}_new_bottom"] = side.new_bottom
        cols[f"ob_{name}_new_index"] = side.new_index
        cols[f"ob_{name}_mitigated"] = side.mitigated
        cols[f"ob_{name}_active"] = side.state.active
        cols[f"ob_{name}_top"] = side.state.top
        cols[f"ob_{name}_bottom"] = side.state.bottom
        cols[f"ob_{name}_index"] = side.state.index
    for name, gap in (("bull", gaps.bull), ("bear", gaps.bear)):
        cols[f"fvg_{name}_new_top"] = gap.new_top
        cols[f"fvg_{name}_new_bottom"] = gap.new_bottom
        cols[f"fvg_{name}_partial"] = gap.partial
        cols[f"fvg_{name}_filled"] = gap.filled
        cols[f"fvg_{name}_active"] = gap.state.active
        cols[f"fvg_{name}_top"] = gap.state.top
        cols[f"fvg_{name}_bottom"] = gap.state.bottom
        cols[f"fvg_{name}_index"] = gap.state.index
    return cols


@dataclass(frozen=True)
class SmcArrays:
    """The analysis as numpy arrays, before it becomes a frame.

    ``columns`` maps every name of :data:`SMC_COLUMNS` (in order) to its per-row values;
    :data:`INDEX_COLUMNS` hold -1 where the frame has null. ``close`` and ``atr`` are the
    checked closes and the volatility scale the analysis used.
    """

    columns: dict[str, np.ndarray]
    close: np.ndarray
    atr: np.ndarray


def _compute(df: pl.DataFrame, cfg: SmcConfig, atr: np.ndarray | None = None) -> SmcArrays:
    c = candles_from_frame(df)
    scale = volatility_scale(df, c, cfg.atr_length, atr)
    swings = detect_swings(c, cfg.swing_length)
    st = detect_structure(c, swings)
    liq = detect_liquidity(c, swings, scale, cfg)
    break_dir, break_age = _last_event(st.break_direction())
    sweep_dir, sweep_age = _last_event(liq.sweep)
    cols = {
        "swing_high_confirmed": swings.high_level,
        "swing_high_index": swings.high_index,
        "swing_low_confirmed": swings.low_level,
        "swing_low_index": swings.low_index,
        "bos": st.bos,
        "choch": st.choch,
        "break_level": st.break_level,
        "break_swing_index": st.break_swing_index,
        "trend": st.trend,
        "swing_high_level": st.swing_high_level,
        "swing_low_level": st.swing_low_level,
        "last_break_dir": break_dir,
        "last_break_age": break_age,
    }
    cols.update(
        _zone_columns(detect_order_blocks(c, st, cfg), detect_fair_value_gaps(c, scale, cfg))
    )
    cols.update(
        {
            "equal_high_level": liq.equal_high_level,
            "equal_high_index": liq.equal_high_index,
            "equal_low_level": liq.equal_low_level,
            "equal_low_index": liq.equal_low_index,
            "sweep": liq.sweep,
            "sweep_high_level": liq.sweep_high_level,
            "sweep_low_level": liq.sweep_low_level,
            "sweep_equal": liq.sweep_equal,
            "liquidity_high": liq.pool_high,
            "liquidity_low": liq.pool_low,
            "last_sweep_dir": sweep_dir,
            "last_sweep_age": sweep_age,
        }
    )
    return SmcArrays(cols, c.close, scale)


def _checked(config: SmcConfig | None) -> SmcConfig:
    cfg = SmcConfig() if config is None else config
    if not isinstance(cfg, SmcConfig):
        raise ConfigError(f"config: expected SmcConfig, got {type(cfg).__name__}")
    return cfg


def analyze_smc_arrays(
    df: pl.DataFrame, config: SmcConfig | None = None, *, atr: np.ndarray | None = None
) -> SmcArrays:
    """What :func:`analyze_smc` computes, as numpy arrays (no frame is built): for callers
    that read a few values, such as the predictor's last row. Same checks and errors.
    ``atr``: the ``atr_<n>`` column's values when the caller has them outside ``df``."""
    return _compute(df, _checked(config), atr)


_INDEX_SET = frozenset(INDEX_COLUMNS)


def analyze_smc(df: pl.DataFrame, config: SmcConfig | None = None) -> pl.DataFrame:
    """SMC events and state per bar of ``df`` (needs ``open, high, low, close``; reuses an
    ``atr_<n>`` column when present). Raises DataValidationError / ConfigError on bad input."""
    cols = _compute(df, _checked(config)).columns
    # one Arrow table (index columns masked to null where -1) instead of per-column casts
    arrays = [
        pa.array(values, mask=values < 0) if name in _INDEX_SET else pa.array(values)
        for name, values in cols.items()
    ]
    out = pl.DataFrame(pa.Table.from_arrays(arrays, names=list(cols)))
    if "timestamp" in df.columns:
        out = out.insert_column(0, df["timestamp"])
    return out
