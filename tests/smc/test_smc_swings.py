"""Swings appear at their confirming row i + N, never at the pivot row i."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from models.smc import SmcConfig, analyze_smc
from models.smc.inputs import candles_from_frame
from models.smc.swings import detect_swings
from tests.smc.smc_frames import candles, column

# N = 2. Pivot high at bar 2 (13), pivot low at bar 4 (10), pivot high at bar 6 (14).
ZIGZAG_HIGH = [10, 11, 13, 12, 11, 12, 14, 13, 12]
ZIGZAG_LOW = [9, 10, 12, 11, 10, 11, 13, 12, 11]


def _frame_from_hl(high: list[float], low: list[float]) -> pl.DataFrame:
    return candles([((h + lo) / 2, h, lo, (h + lo) / 2) for h, lo in zip(high, low, strict=True)])


def test_zigzag_swings_are_confirmed_n_bars_late() -> None:
    out = analyze_smc(_frame_from_hl(ZIGZAG_HIGH, ZIGZAG_LOW), SmcConfig(swing_length=2))
    assert column(out, "swing_high_confirmed") == [None] * 4 + [13.0, None, None, None, 14.0]
    assert column(out, "swing_high_index") == [None] * 4 + [2, None, None, None, 6]
    assert column(out, "swing_low_confirmed") == [None] * 6 + [10.0, None, None]
    assert column(out, "swing_low_index") == [None] * 6 + [4, None, None]
    # last confirmed levels are state: known from the confirming row on
    assert column(out, "swing_high_level") == [None] * 4 + [13.0] * 4 + [14.0]
    assert column(out, "swing_low_level") == [None] * 6 + [10.0] * 3


def test_pivot_unknown_until_confirmed() -> None:
    frame = _frame_from_hl(ZIGZAG_HIGH, ZIGZAG_LOW)
    cfg = SmcConfig(swing_length=2)
    assert analyze_smc(frame.head(4), cfg)["swing_high_index"].null_count() == 4
    assert analyze_smc(frame.head(5), cfg)["swing_high_index"].to_list()[4] == 2


def test_flat_top_takes_the_first_bar() -> None:
    out = analyze_smc(
        _frame_from_hl([1, 2, 5, 5, 3, 2], [0, 1, 4, 4, 2, 1]), SmcConfig(swing_length=2)
    )
    assert column(out, "swing_high_index") == [None] * 4 + [2, None]


def _brute_force_pivots(high: np.ndarray, n: int) -> list[int]:
    return [
        i
        for i in range(n, len(high) - n)
        if high[i] > high[i - n : i].max() and high[i] >= high[i + 1 : i + n + 1].max()
    ]


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.integers(-3, 3), min_size=1, max_size=60),
    n=st.integers(1, 4),
)
def test_swings_match_brute_force_and_appear_n_bars_late(steps: list[int], n: int) -> None:
    high = 100.0 + np.cumsum(steps).astype(float)
    frame = _frame_from_hl(list(high), list(high - 1.0))
    swings = detect_swings(candles_from_frame(frame), n)
    rows = np.flatnonzero(swings.high_index >= 0)
    assert (rows - swings.high_index[rows] == n).all()
    assert list(swings.high_index[rows]) == _brute_force_pivots(high, n)
    assert np.array_equal(swings.high_level[rows], high[swings.high_index[rows]])


def test_real_swings_never_before_i_plus_n(btc: pl.DataFrame) -> None:
    cfg = SmcConfig(swing_length=5)
    out = analyze_smc(btc.head(3000), cfg).with_row_index("row")
    for side in ("high", "low"):
        hits = out.filter(pl.col(f"swing_{side}_index").is_not_null())
        assert hits.height > 50
        lag = hits["row"].cast(pl.Int64) - hits[f"swing_{side}_index"]
        assert (lag == cfg.swing_length).all()
