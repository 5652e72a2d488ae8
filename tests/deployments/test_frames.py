"""Request candles -> frame: exact conversion, and the fast validation path never accepts
what ``validate_ohlcv`` would refuse."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deployments.frames import candles_to_frame, epoch_us, frame_to_candles, plausible
from deployments.schemas import CandleIn
from models.data.validation import validate_ohlcv
from models.errors import DataValidationError


def test_real_candles_convert_exactly(btc):
    window = btc.slice(20000, 300)
    candles = [CandleIn.model_validate(row) for row in frame_to_candles(window)]
    assert candles_to_frame(candles).equals(window)


def test_naive_and_offset_timestamps_are_utc():
    naive = datetime(2024, 1, 1, 12, 0)
    aware = datetime(2024, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert epoch_us(naive) == epoch_us(aware) == 1_704_110_400_000_000


def test_bad_row_is_named_by_validate_ohlcv(btc):
    rows = frame_to_candles(btc.slice(100, 20))
    rows[7]["high"] = rows[7]["low"] * 0.5
    with pytest.raises(DataValidationError) as err:
        candles_to_frame([CandleIn.model_validate(r) for r in rows])
    assert (err.value.row, err.value.column) == (7, "high")


price = st.floats(min_value=0.5, max_value=2.0)


@st.composite
def candle_arrays(draw) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    n = draw(st.integers(1, 12))
    steps = draw(st.lists(st.integers(-1, 2), min_size=n, max_size=n))
    # mostly 2023, sometimes straddling either end of the accepted 1970..2099 range
    start = draw(st.sampled_from([1_700_000_000_000_000, -7_200_000_000, 4_102_437_600_000_000]))
    ts = np.cumsum(np.asarray(steps, dtype=np.int64) * 3_600_000_000) + start
    cols = {k: np.asarray(draw(st.lists(price, min_size=n, max_size=n))) for k in ("o", "c")}
    wick = {k: np.asarray(draw(st.lists(st.floats(-0.2, 0.5), min_size=n, max_size=n)))
            for k in ("h", "l")}  # fmt: skip
    high = np.maximum(cols["o"], cols["c"]) + wick["h"]
    low = np.maximum(np.minimum(cols["o"], cols["c"]) - wick["l"], 1e-3)
    volume = np.asarray(draw(st.lists(st.floats(-1.0, 5.0), min_size=n, max_size=n)))
    values = {"open": cols["o"], "high": high, "low": low, "close": cols["c"], "volume": volume}
    return ts, values


@settings(max_examples=300, deadline=None)
@given(candle_arrays())
def test_fast_path_is_at_least_as_strict_as_validate_ohlcv(arrays):
    ts, values = arrays
    stamp = pl.Series("timestamp", ts).cast(pl.Datetime("us", "UTC"))
    frame = pl.DataFrame([stamp, *(pl.Series(k, v) for k, v in values.items())])
    try:
        validate_ohlcv(frame)
        accepted = True
    except DataValidationError:
        accepted = False
    if plausible(ts, values):
        assert accepted
