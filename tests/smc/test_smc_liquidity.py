"""Golden equal-high and sweep rows (N = 1; every bar's true range is 1 until bar 8, so the
equal tolerance is 0.1 * 1 = 0.1).

Swing highs: bar 1 (11, confirmed row 2) and bar 5 (10.97, row 6): |11 - 10.97| <= 0.1, so
equal highs at row 6 with level 11 and partner bar 1. Swing lows: bar 4 (9.3, row 5) and
bar 7 (9.5, row 8): 0.2 apart, not equal. Bar 8 wicks to 11.2 and closes 10.8, back below
both highs: a sweep of (equal) highs, -1, at row 8. Bar 9 wicks to 9.2 and closes 9.8,
above both lows: a sweep of lows, +1. Bar 10 closes 11.4 above the new swing high 11.2 (bar
8): a break, not a sweep.
"""

from __future__ import annotations

from models.smc import SmcConfig, analyze_smc
from tests.smc.smc_frames import candles, column

BARS = [  # open, high, low, close
    (10, 10.5, 9.5, 10.2),
    (10.2, 11, 10, 10.8),
    (10.8, 10.9, 9.9, 10),
    (10, 10.4, 9.4, 9.6),
    (9.6, 10.3, 9.3, 10.1),
    (10.1, 10.97, 9.97, 10.9),
    (10.9, 10.95, 9.95, 10.3),
    (10.3, 10.5, 9.5, 10),
    (10.2, 11.2, 10.2, 10.8),
    (10.8, 10.9, 9.2, 9.8),
    (9.8, 11.5, 9.7, 11.4),
]
CFG = SmcConfig(swing_length=1, equal_tolerance_atr=0.1)
NONE = None


def _out():
    return analyze_smc(candles(BARS), CFG)


def test_equal_highs_confirmed_at_second_swing() -> None:
    out = _out()
    assert column(out, "swing_high_index")[:7] == [NONE, NONE, 1, NONE, NONE, NONE, 5]
    assert column(out, "equal_high_level") == [NONE] * 6 + [11] + [NONE] * 4
    assert column(out, "equal_high_index") == [NONE] * 6 + [1] + [NONE] * 4
    assert column(out, "equal_low_level") == [NONE] * 11
    assert column(out, "liquidity_high")[6] == 10.97


def test_tight_tolerance_makes_them_unequal() -> None:
    out = analyze_smc(candles(BARS), SmcConfig(swing_length=1, equal_tolerance_atr=0.02))
    assert column(out, "equal_high_level") == [NONE] * 11


def test_sweeps_of_highs_then_lows() -> None:
    out = _out()
    assert column(out, "sweep") == [0] * 8 + [-1, 1, 0]
    assert column(out, "sweep_high_level") == [NONE] * 8 + [11, NONE, NONE]
    assert column(out, "sweep_low_level") == [NONE] * 9 + [9.3, NONE]
    assert column(out, "sweep_equal") == [False] * 8 + [True, False, False]
    assert column(out, "last_sweep_dir") == [0] * 8 + [-1, 1, 1]
    assert column(out, "last_sweep_age") == [NONE] * 8 + [0, 0, 1]
    # swept pools are gone; the high pool from bar 8 (11.2) is broken by the close at bar 10,
    # the low pool from bar 9 (9.2) is confirmed at row 10
    assert column(out, "liquidity_high")[8:] == [NONE, 11.2, NONE]
    assert column(out, "liquidity_low")[8:] == [9.5, NONE, 9.2]


def test_close_through_a_level_is_a_break_not_a_sweep() -> None:
    out = _out()
    assert column(out, "sweep")[10] == 0
    assert column(out, "bos")[10] + column(out, "choch")[10] == 1
    assert column(out, "break_level")[10] == 11.2
