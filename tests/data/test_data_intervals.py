"""Interval spellings shared by file names, gap reports, resampling and the downloader."""

from __future__ import annotations

from datetime import timedelta

import pytest

import models.data
from models.data.intervals import format_interval, is_interval, parse_interval
from models.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "step"),
    [
        ("1m", timedelta(minutes=1)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("12h", timedelta(hours=12)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("30s", timedelta(seconds=30)),
    ],
)
def test_round_trip(text: str, step: timedelta) -> None:
    assert is_interval(text)
    assert parse_interval(text) == step
    assert format_interval(step) == text


def test_canonical_spelling_and_passthrough() -> None:
    assert format_interval(timedelta(minutes=240)) == "4h"
    assert format_interval(timedelta(days=7)) == "1w"
    assert format_interval(timedelta(milliseconds=1500)) == "1500000us"
    assert parse_interval(timedelta(hours=2)) == timedelta(hours=2)


@pytest.mark.parametrize("bad", ["", "h", "0h", "1.5h", "1y", "-1h", "1 h", "2021"])
def test_rejects_non_intervals(bad: str) -> None:
    assert not is_interval(bad)
    with pytest.raises(ConfigError, match=f"every {bad!r} is not an interval"):
        parse_interval(bad, name="every")


def test_rejects_non_positive_timedelta() -> None:
    with pytest.raises(ConfigError, match="interval must be positive"):
        parse_interval(timedelta(0))


def test_public_surface_of_models_data() -> None:
    assert sorted(models.data.__all__) == [
        "Gap",
        "GapReport",
        "default_data_dir",
        "format_interval",
        "gap_report",
        "load_market_data",
        "load_ohlcv",
        "parse_interval",
        "resample_ohlcv",
        "validate_ohlcv",
    ]
    assert all(callable(getattr(models.data, name)) for name in models.data.__all__)
