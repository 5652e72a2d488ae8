"""Labels: the documented rule on hand-made prices, causal band, gaps, real class balance."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest

from models.errors import ConfigError, DataValidationError, InsufficientDataError
from models.labels import LabelConfig, band_series, class_balance, flat_band, make_labels
from models.vocabulary import DOWN, FLAT, UP
from tests.causality import assert_prefix_causal


def _frame(close: list[float] | np.ndarray, gap_after: int | None = None) -> pl.DataFrame:
    start = datetime(2022, 1, 1, tzinfo=timezone.utc)
    stamps = []
    for i in range(len(close)):
        extra = 1 if gap_after is not None and i > gap_after else 0
        stamps.append(start + timedelta(hours=i + extra))
    return pl.DataFrame({"timestamp": stamps, "close": np.asarray(close, dtype=float)})


def test_rule_on_hand_made_prices() -> None:
    cfg = LabelConfig(horizon=2, flat_k=1.0, vol_window=2)
    # log returns of the first bars: +a, -a -> population std over 2 returns = a.
    a = 0.01
    close = np.exp(np.cumsum([0.0, a, -a, 3 * a, 0.0, -3 * a, 0.5 * a, 0.0]))
    labels = make_labels(_frame(close), cfg).to_list()
    band = band_series(close, cfg)
    fwd = [math.log(close[t + 2] / close[t]) for t in range(len(close) - 2)]
    expected = [None, None]
    for t in range(2, len(close) - 2):
        expected.append(UP if fwd[t] > band[t] else DOWN if fwd[t] < -band[t] else FLAT)
    assert labels == [*expected, None, None]
    assert band[2] == pytest.approx(1.0 * a * math.sqrt(2))
    assert labels[2] == UP and labels[4] == DOWN  # +3a > a*sqrt2 ; -3a < -band


def test_last_horizon_rows_and_gap_spanning_rows_are_null() -> None:
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 40)))
    labels = make_labels(_frame(close, gap_after=20), LabelConfig(horizon=4, vol_window=5))
    nulls = set(np.flatnonzero(labels.is_null().to_numpy()))
    assert nulls == set(range(5)) | {17, 18, 19, 20} | set(range(36, 40))


def test_band_is_causal_and_flat_band_matches_it(btc: pl.DataFrame) -> None:
    cfg = LabelConfig()

    def band_frame(df: pl.DataFrame) -> pl.DataFrame:
        return pl.DataFrame({"band": band_series(df["close"].to_numpy(), cfg)})

    sample = btc.slice(1000, 600)
    assert_prefix_causal(band_frame, sample, [1, cfg.vol_window, cfg.vol_window + 1, 300, 599])
    series = band_frame(sample)["band"].to_numpy()
    for end in (cfg.vol_window + 1, 200, 600):
        assert flat_band(sample.head(end), cfg) == series[end - 1]


def test_classes_not_degenerate_on_real_data(real_candles) -> None:
    for symbol in ("BTCUSDT", "DOGEUSDT"):
        balance = class_balance(make_labels(real_candles(symbol)))
        assert 0.25 < balance["down"] < 0.35 and 0.25 < balance["up"] < 0.35
        assert 0.35 < balance["flat"] < 0.47


def test_bad_config_and_input() -> None:
    with pytest.raises(ConfigError, match="horizon"):
        LabelConfig(horizon=0)
    with pytest.raises(ConfigError, match="flat_k"):
        LabelConfig(flat_k=float("nan"))
    with pytest.raises(ConfigError, match="vol_window"):
        LabelConfig(vol_window=1)
    with pytest.raises(ConfigError, match="unknown"):
        LabelConfig.from_dict({"horizon": 4, "k": 1})
    assert LabelConfig.from_dict(LabelConfig().to_dict()) == LabelConfig()
    with pytest.raises(DataValidationError, match="close"):
        make_labels(pl.DataFrame({"open": [1.0]}))
    with pytest.raises(DataValidationError, match="close"):
        make_labels(_frame([1.0, 0.0, 2.0]))
    with pytest.raises(InsufficientDataError):
        flat_band(_frame([1.0] * 10))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"flat_k": "0.4"}, "flat_k"),  # was a bare TypeError from math.isfinite
        ({"flat_k": True}, "flat_k"),
        ({"horizon": True}, "horizon"),  # was accepted as a 1-bar horizon
        ({"vol_window": False}, "vol_window"),
    ],
)
def test_wrong_types_are_config_errors_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        LabelConfig(**kwargs)
