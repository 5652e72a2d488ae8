"""Hand-built candle frames for the SMC golden tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import polars as pl


def candles(rows: Sequence[tuple[float, float, float, float]]) -> pl.DataFrame:
    """``(open, high, low, close)`` rows -> a candle frame with hourly timestamps."""
    start = datetime(2023, 1, 1, tzinfo=timezone.utc)
    return pl.DataFrame(
        {
            "timestamp": [start + timedelta(hours=i) for i in range(len(rows))],
            "open": [float(r[0]) for r in rows],
            "high": [float(r[1]) for r in rows],
            "low": [float(r[2]) for r in rows],
            "close": [float(r[3]) for r in rows],
            "volume": [1.0] * len(rows),
        },
        schema_overrides={"timestamp": pl.Datetime("us", "UTC")},
    )


def column(frame: pl.DataFrame, name: str) -> list:
    """A column as a list, with NaN turned into None so expectations read naturally."""
    values = frame[name].to_list()
    return [None if isinstance(v, float) and v != v else v for v in values]


# The 14 bars worked through by hand in test_smc_structure.py (swings, breaks, blocks).
STRUCTURE_BARS = [  # open, high, low, close
    (9.2, 10, 9, 9.5),
    (10.5, 12, 10, 11.5),
    (11.5, 11.5, 10, 10.5),
    (10.5, 11, 8, 8.5),
    (9.2, 10, 9, 9.8),
    (9.8, 12.5, 9.5, 12.4),
    (12.4, 13, 12, 12.8),
    (12.8, 12.9, 11, 11.5),
    (11.5, 12, 10.5, 11),
    (11, 11.5, 10.8, 11.2),
    (11, 11, 9, 9.5),
    (9.5, 10, 8.5, 9),
    (9, 9.5, 8.8, 9.2),
    (9, 9, 8, 8.2),
]
