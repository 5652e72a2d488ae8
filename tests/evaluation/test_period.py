"""Evaluation periods: never a bar a model was trained or validated on."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

from models.errors import ConfigError
from models.evaluation.period import ModelWindow, model_window, parse_utc, resolve_period
from models.evaluation.sources import load_sources
from models.registry import ModelRegistry

UTC = timezone.utc


def timestamps(start: str, n: int) -> pl.Series:
    first = datetime.fromisoformat(start).replace(tzinfo=UTC)
    return pl.Series("timestamp", [first + timedelta(hours=i) for i in range(n)]).cast(
        pl.Datetime("us", "UTC")
    )


def window(until: str, model: str = "transformer") -> ModelWindow:
    return ModelWindow("BTCUSDT", model, "v20260101T000000Z-00000000", None, parse_utc(until, "x"))


def test_default_period_is_the_last_year_when_models_end_earlier():
    ts = timestamps("2021-01-01", 3 * 8760)
    period = resolve_period("BTCUSDT", ts, [window("2022-06-01")])
    assert period.rows.size == 8760 + 1  # 365 days back from the last bar, both ends kept
    assert period.reason == "the last year of the data"


def test_default_period_starts_after_the_latest_model_window():
    ts = timestamps("2021-01-01", 3 * 8760)
    windows = [window("2023-03-01T05:00:00Z", "cnn_lstm"), window("2023-06-01T10:00:00Z")]
    period = resolve_period("BTCUSDT", ts, windows)
    first = ts[int(period.rows[0])]
    assert first == datetime(2023, 6, 1, 11, tzinfo=UTC)
    assert "'transformer'" in period.reason


def test_an_explicit_start_inside_a_window_is_refused_naming_model_window_and_start():
    ts = timestamps("2021-01-01", 3 * 8760)
    with pytest.raises(ConfigError) as err:
        resolve_period(
            "BTCUSDT", ts, [window("2023-06-01T10:00:00Z")], parse_utc("2023-06-01T10:00Z", "s")
        )
    msg = str(err.value)
    assert (
        "'transformer'" in msg and "2023-06-01T10:00:00+00:00" in msg and "requested start" in msg
    )
    ok = resolve_period(
        "BTCUSDT", ts, [window("2023-06-01T10:00:00Z")], parse_utc("2023-06-01T11:00Z", "s")
    )
    assert ts[int(ok.rows[0])] == datetime(2023, 6, 1, 11, tzinfo=UTC)


def test_an_empty_period_is_an_error_naming_the_data_range():
    ts = timestamps("2021-01-01", 100)
    with pytest.raises(ConfigError, match="no candles between"):
        resolve_period("BTCUSDT", ts, [], parse_utc("2030-01-01", "s"))


def test_model_window_reads_the_validation_label_end_and_requires_one():
    manifest = {
        "data_window": {
            "train": {"start": "2022-01-01T00:00:00Z", "label_end": "2022-02-01T00:00:00Z"},
            "val": {"label_end": "2022-02-10T04:00:00Z"},
        }
    }
    w = model_window("BTCUSDT", "cnn_lstm", "v1", manifest)
    assert w.seen_until == datetime(2022, 2, 10, 4, tzinfo=UTC)
    assert w.first_bar == datetime(2022, 1, 1, tzinfo=UTC)
    with pytest.raises(ConfigError, match="records no training window"):
        model_window("BTCUSDT", "cnn_lstm", "v1", {"data_window": {}})
    with pytest.raises(ConfigError, match="not an ISO"):
        parse_utc("yesterday", "--start")


def test_a_model_trained_later_cannot_be_evaluated_on_an_earlier_period(tiny_registry, btc):
    sources = load_sources("BTCUSDT", tiny_registry, horizon=4)
    assert set(sources.specs) == {"indicators", "smc", "cnn_lstm"}
    assert any("transformer" in note for note in sources.notes)
    (w,) = sources.windows
    manifest = ModelRegistry(tiny_registry).load("BTCUSDT", "cnn_lstm").manifest
    assert w.seen_until == parse_utc(manifest["data_window"]["val"]["label_end"], "x")
    with pytest.raises(ConfigError, match="cnn_lstm"):
        resolve_period("BTCUSDT", btc["timestamp"], sources.windows, parse_utc("2021-12-01", "s"))
    period = resolve_period("BTCUSDT", btc["timestamp"], sources.windows)
    assert btc["timestamp"][int(period.rows[0])] > w.seen_until
    assert np.all(np.diff(period.rows) == 1)


def test_a_horizon_other_than_the_models_is_refused(tiny_registry):
    with pytest.raises(ConfigError, match="--horizon 4"):
        load_sources("BTCUSDT", tiny_registry, horizon=8)
