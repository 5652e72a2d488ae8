"""A leader's candles carried as ``leader_*`` columns come back as the leader's own candles."""

from __future__ import annotations

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from models.errors import DataValidationError
from models.predictors.leader import LEADER_COLUMNS, attach_leader, leader_candles
from tests.training.synthetic import random_walk_candles


def test_the_leaders_candles_come_back_where_it_has_bars() -> None:
    symbol = random_walk_candles(60, seed=1)
    leader = random_walk_candles(60, seed=2)
    assert_frame_equal(leader_candles(attach_leader(symbol, leader)), leader)
    holes = leader.filter(pl.int_range(pl.len()) % 7 != 3)  # the leader missed some bars
    got = leader_candles(attach_leader(symbol, holes))
    assert got is not None
    assert_frame_equal(got, holes)


def test_no_leader_columns_is_none_and_a_partial_set_is_refused() -> None:
    symbol = random_walk_candles(30, seed=3)
    assert leader_candles(symbol) is None
    window = attach_leader(symbol, random_walk_candles(30, seed=4)).drop(LEADER_COLUMNS[2])
    with pytest.raises(DataValidationError, match="leader columns come as a set"):
        leader_candles(window)
