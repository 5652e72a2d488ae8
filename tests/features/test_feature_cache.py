"""The feature cache: keys follow the window's content, the size stays bounded."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.errors import ConfigError
from models.features.feature_cache import FeatureCache, window_key
from tests.training.synthetic import random_walk_candles

COLUMNS = ("open", "high", "low", "close", "volume")


def test_key_names_symbol_bar_version_and_content() -> None:
    window = random_walk_candles(50, seed=1)
    key = window_key("tree", "ETHUSDT", window, COLUMNS)
    assert key.symbol == "ETHUSDT" and key.part == "tree"
    assert window_key("leader", "ETHUSDT", window, COLUMNS) != key
    assert key.bar_us == int(window["timestamp"].dt.epoch("us")[-1])
    assert key == window_key("tree", "ETHUSDT", window.clone(), COLUMNS)
    assert key != window_key("tree", "ETHUSDT", window, COLUMNS, version="other")
    moved = window.with_columns(pl.col("close") * 1.0000001)
    assert window_key("tree", "ETHUSDT", moved, COLUMNS) != key  # same bar, other candles
    longer = random_walk_candles(51, seed=1).tail(50)
    assert window_key("tree", "ETHUSDT", longer, COLUMNS).bar_us != key.bar_us
    with pytest.raises(ValueError, match="empty window"):
        window_key("tree", "ETHUSDT", window.head(0), COLUMNS)


def test_the_columns_types_are_part_of_the_key() -> None:
    """A window whose close is text must not find the features of the numeric one."""
    window = random_walk_candles(50, seed=3)
    text = window.with_columns(pl.col("close").cast(pl.Utf8))
    assert window_key("tree", "X", text, COLUMNS) != window_key("tree", "X", window, COLUMNS)
    single = window.with_columns(pl.col("volume").cast(pl.Float32))
    assert window_key("tree", "X", single, COLUMNS) != window_key("tree", "X", window, COLUMNS)


def test_each_value_is_read_under_its_own_column() -> None:
    """Values swapped between two columns are other candles; the frame's order is not."""
    window = random_walk_candles(50, seed=4)
    swapped = window.with_columns(open=pl.col("close"), close=pl.col("open"))
    assert window_key("tree", "X", swapped, COLUMNS) != window_key("tree", "X", window, COLUMNS)
    reordered = window.select("timestamp", *reversed(COLUMNS))
    assert window_key("tree", "X", reordered, COLUMNS) == window_key("tree", "X", window, COLUMNS)
    one_int = window.with_columns(pl.col("volume").round(0).cast(pl.Int64))
    as_float = one_int.with_columns(pl.col("volume").cast(pl.Float64))
    assert window_key("tree", "X", one_int, COLUMNS) != window_key("tree", "X", as_float, COLUMNS)


def test_columns_not_read_do_not_change_the_key() -> None:
    window = random_walk_candles(50, seed=2)
    extra = window.with_columns(pl.lit(1.0).alias("unused"))
    assert window_key("tree", "X", extra, COLUMNS) == window_key("tree", "X", window, COLUMNS)
    assert window_key("tree", "X", extra, (*COLUMNS, "unused")) != window_key(
        "tree", "X", window, COLUMNS
    )


def test_least_recently_used_entries_go_first() -> None:
    cache: FeatureCache[np.ndarray] = FeatureCache(max_entries=2)
    keys = [window_key("tree", "X", random_walk_candles(20 + i, seed=i), COLUMNS) for i in range(3)]
    calls = []

    def compute(i: int) -> np.ndarray:
        calls.append(i)
        return np.full(3, float(i))

    for i in (0, 1):
        cache.get_or_compute(keys[i], lambda i=i: compute(i))
    assert cache.get_or_compute(keys[0], lambda: compute(99))[0] == 0.0  # a hit
    cache.get_or_compute(keys[2], lambda: compute(2))  # evicts keys[1], the least recent
    assert len(cache) == 2 and cache.get(keys[1]) is None and cache.get(keys[0]) is not None
    assert calls == [0, 1, 2] and (cache.hits, cache.misses) == (2, 3)


def test_a_failed_computation_is_not_cached() -> None:
    cache: FeatureCache[np.ndarray] = FeatureCache()
    key = window_key("tree", "X", random_walk_candles(20, seed=0), COLUMNS)

    def fail() -> np.ndarray:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        cache.get_or_compute(key, fail)
    assert len(cache) == 0


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_size_is_a_config_error(bad) -> None:
    with pytest.raises(ConfigError, match="max_entries"):
        FeatureCache(max_entries=bad)
