"""Kline rows: what is taken, what is refused and why, where parsing stops."""

from __future__ import annotations

import polars as pl
import pytest

from models.feed import bars_frame, parse_page
from models.feed.klines import parse_row

H = 3_600_000
T0 = 1_700_000_000_000 // H * H


def row(i: int, o="100", h="110", lo="90", c="105", v="1.5") -> list:
    return [T0 + i * H, o, h, lo, c, v, T0 + (i + 1) * H - 1, "0", 0, "0", "0", "0"]


def test_closed_bars_are_taken_and_the_forming_one_is_not() -> None:
    page = parse_page([row(0), row(1), row(2)], H, None, now_ms=T0 + 2 * H + 5)
    assert [b.open_ms for b in page.bars] == [T0, T0 + H]
    assert page.forming and page.problem is None


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        (row(1, h="95"), "high/low"),
        (row(1, o="-1", lo="-2"), "prices must be > 0"),
        (row(1, v="-1"), "volume"),
        (row(1, c="nan"), "not finite"),
        (row(1, c=None), "close: expected a decimal string"),
        ([T0 + H + 5, "1", "1", "1", "1", "1", T0 + 2 * H + 4], "not aligned"),
        ([T0 + H, "1", "1", "1", "1", "1", T0 + 2 * H], "close_time"),
        ("oops", "at least 7 fields"),
        (row(0), "out-of-order"),
    ],
)
def test_a_bad_row_stops_the_page_after_the_good_prefix(bad, needle) -> None:
    page = parse_page([row(0), bad, row(2)], H, None, now_ms=T0 + 10 * H)
    assert [b.open_ms for b in page.bars] == [T0]
    assert needle in page.problem and "row 1" in page.problem


def test_rows_not_after_the_stored_bar_are_out_of_order() -> None:
    page = parse_page([row(0)], H, T0, now_ms=T0 + 10 * H)
    assert page.bars == [] and "out-of-order" in page.problem


def test_a_body_that_is_not_a_list_is_refused() -> None:
    assert "JSON list" in parse_page({"code": -1}, H, None, T0).problem


def test_the_exchange_may_skip_its_own_downtime() -> None:
    page = parse_page([row(0), row(5)], H, None, now_ms=T0 + 10 * H)
    assert len(page.bars) == 2 and page.problem is None


def test_bars_frame_is_the_project_candle_frame() -> None:
    bar, _ = parse_row(row(0, c="105.123456789"), 0, H)
    frame = bars_frame([bar])
    assert frame.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert frame["close"][0] == 105.123456789
    assert int(frame["timestamp"][0].timestamp() * 1000) == T0
