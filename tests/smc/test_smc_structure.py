"""Golden BOS / CHoCH and order-block rows on a hand-built 14-bar sequence (N = 1).

Swings (N = 1, confirmed one bar late): highs at bar 1 (12, row 2) and bar 6 (13, row 7);
lows at bar 3 (8, row 4), bar 8 (10.5, row 9) and bar 11 (8.5, row 12).
- bar 5 closes 12.4 > 12: first break, bullish BOS (no trend before).
- bar 10 closes 9.5 < 10.5 against the up trend: bearish CHoCH.
- bar 13 closes 8.2 < 8.5 with the down trend: bearish BOS.
Order blocks: for the break at 5 the leg starts at the lowest low of bars 1..5 (bar 3),
which is bearish -> bullish block [8, 11] from row 5, mitigated at bar 7 (low 11 <= 11).
For the break at 10 the leg starts at the highest high of bars 8..10 (bar 8); the last
bullish candle at or before it is bar 6 -> bearish block [12, 13]. For the break at 13 the
highest high of 11..13 is bar 11; the last bullish candle is bar 9 -> block [10.8, 11.5].
"""

from __future__ import annotations

from models.smc import SmcConfig, analyze_smc
from tests.smc.smc_frames import STRUCTURE_BARS, candles, column

BARS = STRUCTURE_BARS
CFG = SmcConfig(swing_length=1)
NONE = None


def _out():
    return analyze_smc(candles(BARS), CFG)


def test_swings_of_the_sequence() -> None:
    out = _out()
    assert column(out, "swing_high_index") == [NONE] * 2 + [1] + [NONE] * 4 + [6] + [NONE] * 6
    lows = [NONE] * 4 + [3] + [NONE] * 4 + [8] + [NONE] * 2 + [11, NONE]
    assert column(out, "swing_low_index") == lows


def test_bos_and_choch_rows() -> None:
    out = _out()
    assert column(out, "bos") == [0] * 5 + [1] + [0] * 7 + [-1]
    assert column(out, "choch") == [0] * 10 + [-1, 0, 0, 0]
    levels = column(out, "break_level")
    assert [(i, v) for i, v in enumerate(levels) if v is not None] == [
        (5, 12),
        (10, 10.5),
        (13, 8.5),
    ]
    assert column(out, "break_swing_index")[5::5] == [1, 8]
    assert column(out, "trend") == [0] * 5 + [1] * 5 + [-1] * 4
    assert column(out, "last_break_dir") == [0] * 5 + [1] * 5 + [-1] * 4
    assert column(out, "last_break_age") == [NONE] * 5 + [0, 1, 2, 3, 4, 0, 1, 2, 0]


def test_breaks_are_never_revised_by_later_bars() -> None:
    full = _out()
    for k in range(6, len(BARS)):
        part = analyze_smc(candles(BARS[:k]), CFG)
        assert column(part, "bos") == column(full, "bos")[:k]
        assert column(part, "choch") == column(full, "choch")[:k]


def test_bullish_order_block_forms_at_break_and_is_mitigated() -> None:
    out = _out()
    assert column(out, "ob_bull_new_index") == [NONE] * 5 + [3] + [NONE] * 8
    assert column(out, "ob_bull_new_top")[5] == 11
    assert column(out, "ob_bull_new_bottom")[5] == 8
    assert column(out, "ob_bull_active") == [0] * 5 + [1, 1] + [0] * 7
    assert column(out, "ob_bull_mitigated") == [0] * 7 + [1] + [0] * 6
    assert column(out, "ob_bull_top")[4:8] == [NONE, 11, 11, NONE]
    assert column(out, "ob_bull_index")[4:8] == [NONE, 3, 3, NONE]


def test_bearish_order_blocks_and_nearest_band() -> None:
    out = _out()
    assert column(out, "ob_bear_new_index") == [NONE] * 10 + [6, NONE, NONE, 9]
    assert column(out, "ob_bear_new_top")[10] == 13
    assert column(out, "ob_bear_new_bottom")[13] == 10.8
    assert column(out, "ob_bear_active") == [0] * 10 + [1, 1, 1, 2]
    assert column(out, "ob_bear_mitigated") == [0] * 14
    # at bar 13 (close 8.2) the block [10.8, 11.5] is nearer than [12, 13]
    assert (column(out, "ob_bear_bottom")[13], column(out, "ob_bear_top")[13]) == (10.8, 11.5)
    assert column(out, "ob_bear_top")[12] == 13
    assert column(out, "ob_bear_index")[9:] == [NONE, 6, 6, 6, 9]


def test_bearish_block_mitigated_when_price_returns() -> None:
    # one more bar trading up into [10.8, 11.5] but not into [12, 13]
    out = analyze_smc(candles([*BARS, (8.2, 11.0, 8.1, 10.2)]), CFG)
    assert column(out, "ob_bear_mitigated")[14] == 1
    assert column(out, "ob_bear_active")[14] == 1
    assert (column(out, "ob_bear_bottom")[14], column(out, "ob_bear_top")[14]) == (12, 13)


def test_no_block_without_an_opposite_candle() -> None:
    # same bars, but every candle before the first break is bullish: no bullish block
    bullish = [
        (lo, hi, lo, cl) if i < 5 else (o, hi, lo, cl) for i, (o, hi, lo, cl) in enumerate(BARS)
    ]
    out = analyze_smc(candles(bullish), CFG)
    assert column(out, "bos")[5] == 1
    assert column(out, "ob_bull_new_index")[5] is None
    assert column(out, "ob_bull_active")[5] == 0
