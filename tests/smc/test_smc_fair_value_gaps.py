"""Golden fair-value-gap rows: formation at the third candle, partial and full fills.

Bullish gap at bar 2 (low 11 > high[0] 10.5): band [10.5, 11]. Bar 4 trades to 10.8
(first partial fill, open band [10.5, 10.8]), bar 5 to 10.6 (deeper, not counted again),
bar 6 to 10.4 <= 10.5 (fully filled, inactive). Bearish gap at bar 8 (high 10.2 <
low[6] 10.4): band [10.2, 10.4], filled straight through by bar 9 (high 10.5).
"""

from __future__ import annotations

from models.smc import SmcConfig, analyze_smc
from tests.smc.smc_frames import candles, column

BARS = [  # open, high, low, close
    (10, 10.5, 9.5, 10.2),
    (10.2, 12, 10.1, 11.8),
    (11.8, 12.5, 11, 12.3),
    (12.3, 12.6, 11.8, 12),
    (12, 12.2, 10.8, 11.5),
    (11.5, 11.9, 10.6, 11.7),
    (11.7, 11.8, 10.4, 10.9),
    (10.9, 11, 9.9, 10),
    (9.5, 10.2, 9, 9.2),
    (9.2, 10.5, 9.1, 9.4),
]
NONE = None


def _out():
    return analyze_smc(candles(BARS), SmcConfig(swing_length=1))


def test_bullish_gap_forms_and_fills() -> None:
    out = _out()
    assert column(out, "fvg_bull_new_top") == [NONE, NONE, 11] + [NONE] * 7
    assert column(out, "fvg_bull_new_bottom") == [NONE, NONE, 10.5] + [NONE] * 7
    assert column(out, "fvg_bull_active") == [0, 0, 1, 1, 1, 1, 0, 0, 0, 0]
    assert column(out, "fvg_bull_partial") == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    assert column(out, "fvg_bull_filled") == [0] * 6 + [1, 0, 0, 0]
    assert column(out, "fvg_bull_top")[:7] == [NONE, NONE, 11, 11, 10.8, 10.6, NONE]
    assert column(out, "fvg_bull_bottom")[2:6] == [10.5] * 4
    assert column(out, "fvg_bull_index")[:7] == [NONE, NONE, 1, 1, 1, 1, NONE]


def test_bearish_gap_filled_straight_through() -> None:
    out = _out()
    assert column(out, "fvg_bear_new_bottom") == [NONE] * 8 + [10.2, NONE]
    assert column(out, "fvg_bear_new_top") == [NONE] * 8 + [10.4, NONE]
    assert column(out, "fvg_bear_active") == [0] * 8 + [1, 0]
    assert column(out, "fvg_bear_partial") == [0] * 10
    assert column(out, "fvg_bear_filled") == [0] * 9 + [1]
    assert column(out, "fvg_bear_index")[7:] == [NONE, 7, NONE]


def test_minimum_gap_size_filters_small_gaps() -> None:
    # the bullish gap is 0.5 wide and the ATR of these bars is above 1: a 1-ATR minimum drops it
    out = analyze_smc(candles(BARS), SmcConfig(swing_length=1, fvg_min_size_atr=1.0))
    assert column(out, "fvg_bull_new_top") == [NONE] * 10
    assert column(out, "fvg_bull_active") == [0] * 10
