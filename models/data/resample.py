"""Turn fine candles into coarser ones (1h -> 4h, 1h -> 1d) the way an exchange would.

Bars are labelled by their open time and aligned to UTC (4h bars open at 00:00, 04:00, ...;
daily bars at 00:00 UTC; weekly bars on Monday 00:00 UTC, as Binance does), so a resampled
series lines up with the exchange's own klines of that interval. Missing source bars simply
leave the coarse bar built from what exists; an interval with no source bar gives no row.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from models.data.intervals import format_interval, parse_interval
from models.data.validation import OHLCV_COLUMNS, check_columns, modal_step
from models.errors import ConfigError


def _source_step(df: pl.DataFrame) -> timedelta | None:
    """Modal step between bars of ``df`` (None with fewer than two bars)."""
    micros = df["timestamp"].cast(pl.Datetime("us", "UTC")).to_physical().to_numpy()
    step = modal_step(np.diff(micros))
    return None if step is None else timedelta(microseconds=step)


def resample_ohlcv(
    df: pl.DataFrame, every: str | timedelta = "4h", *, closed_only: bool = False
) -> pl.DataFrame:
    """Aggregate ``df`` into ``every`` bars: first open, max high, min low, last close, sum volume.

    ``closed_only=True`` drops a last bar whose period has not ended by the end of the
    last source bar (a still-forming bar): with it, resampling the first k source bars
    gives a prefix of resampling all of them, which is what causal consumers need.
    Extra columns are dropped (indicators do not aggregate meaningfully).
    """
    step = parse_interval(every, name="every")
    check_columns(df)
    source = _source_step(df)
    if source is not None and (step < source or step % source):
        raise ConfigError(
            f"every={format_interval(step)} is not a whole multiple of the data's "
            f"{format_interval(source)} bars"
        )
    spelled = format_interval(step)
    out = (
        df.select(OHLCV_COLUMNS)
        .group_by_dynamic(
            "timestamp",
            every=spelled,
            closed="left",
            label="left",
            start_by="monday" if spelled.endswith("w") else "window",
        )
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
        )
    )
    if closed_only and out.height:
        # One bar alone has no known length: treat its bucket as still forming.
        data_end = df["timestamp"][-1] + (source or timedelta(0))
        if out["timestamp"][-1] + step > data_end:
            out = out.head(out.height - 1)
    return out
