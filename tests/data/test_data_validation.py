"""Validation names the row and column of every kind of bad input; gap reports on real data."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.data import gap_report, validate_ohlcv
from models.data.validation import VALUE_COLUMNS, _passes_all, modal_step, numeric_column
from models.errors import ConfigError, DataValidationError
from tests.data.frames import synthetic_candles


def _set(df: pl.DataFrame, row: int, column: str, value: object) -> pl.DataFrame:
    """``df`` with one cell replaced (the column's dtype widens to hold ``value``)."""
    values = df[column].to_list()
    values[row] = value
    return df.with_columns(pl.Series(column, values, strict=False))


def _corrupt(df: pl.DataFrame, kind: str, row: int, column: str) -> tuple[pl.DataFrame, int, str]:
    """Break one thing in a valid frame; return it with the (row, column) to be blamed."""
    body_top = max(df["open"][row], df["close"][row])
    body_bottom = min(df["open"][row], df["close"][row])
    if kind in ("nan", "inf", "-inf"):
        return _set(df, row, column, float(kind)), row, column
    if kind == "null":
        return _set(df, row, column, None), row, column
    if kind == "text":
        text = df.with_columns(pl.col(column).cast(pl.String))
        return _set(text, row, column, "n/a"), row, column
    if kind == "non_positive" and column == "volume":
        return _set(df, row, "volume", -1.5), row, "volume"
    if kind == "non_positive":
        return _set(df, row, column, 0.0 if row % 2 else -2.0), row, column
    if kind == "high_below":
        return _set(df, row, "high", body_top * 0.999), row, "high"
    if kind == "low_above":
        return _set(df, row, "low", body_bottom * 1.001), row, "low"
    ts = df["timestamp"].to_list()
    if kind == "duplicate":
        row = max(row, 1)
        ts[row] = ts[row - 1]
    elif kind == "swap":
        row = min(row, len(ts) - 2)
        ts[row], ts[row + 1] = ts[row + 1], ts[row]
        row += 1
    else:  # missing timestamp
        ts[row] = None
    return (
        df.with_columns(pl.Series("timestamp", ts, dtype=df["timestamp"].dtype)),
        row,
        "timestamp",
    )


KINDS = [
    "nan",
    "inf",
    "-inf",
    "null",
    "text",
    "non_positive",
    "high_below",
    "low_above",
    "duplicate",
    "swap",
    "missing_ts",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=2, max_value=40),
    seed=st.integers(min_value=0, max_value=10_000),
    kind=st.sampled_from(KINDS),
    column=st.sampled_from(VALUE_COLUMNS),
    where=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_random_corruption_is_caught_at_its_row_and_column(n, seed, kind, column, where):
    df = synthetic_candles(n, seed=seed)
    validate_ohlcv(df)  # the uncorrupted frame is valid
    bad, row, blamed = _corrupt(df, kind, int(where * n), column)
    with pytest.raises(DataValidationError) as err:
        validate_ohlcv(bad, source="mem.csv")
    assert (err.value.row, err.value.column) == (row, blamed), str(err.value)
    assert str(err.value).startswith(f"file mem.csv, row {row}, column '{blamed}': ")


@pytest.mark.parametrize(
    ("kind", "column", "reason"),
    [
        ("nan", "close", "non-finite value nan"),
        ("inf", "volume", "non-finite value inf"),
        ("null", "open", "missing value"),
        ("text", "low", "non-numeric value 'n/a'"),
        ("non_positive", "high", "price must be > 0, got -2.0"),
        ("non_positive", "volume", "volume must be >= 0, got -1.5"),
        ("high_below", "high", "is below max(open, close)"),
        ("low_above", "low", "is above min(open, close)"),
        ("duplicate", "timestamp", "duplicate timestamp 2022-03-01T03:00:00+00:00 (same as row 3)"),
        ("swap", "timestamp", "is earlier than row 4 (2022-03-01T05:00:00+00:00)"),
        ("missing_ts", "timestamp", "missing timestamp"),
    ],
)
def test_each_reason_is_spelled_out(kind: str, column: str, reason: str) -> None:
    bad, row, blamed = _corrupt(synthetic_candles(12, seed=1), kind, 4, column)
    with pytest.raises(DataValidationError) as err:
        validate_ohlcv(bad, source="f.csv")
    assert reason in str(err.value)
    assert f"row {row}" in str(err.value) and f"column '{blamed}'" in str(err.value)
    assert err.value.reason in str(err.value) and err.value.source == "f.csv"


def test_missing_column_and_wrong_dtypes() -> None:
    df = synthetic_candles(5)
    with pytest.raises(DataValidationError, match="column 'volume': missing column"):
        validate_ohlcv(df.drop("volume"))
    as_text = df.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%d"))
    with pytest.raises(DataValidationError, match="dtype String is not a datetime"):
        validate_ohlcv(as_text)
    naive = df.with_columns(pl.col("timestamp").dt.replace_time_zone(None))
    with pytest.raises(DataValidationError, match="time zone None is not 'UTC'"):
        validate_ohlcv(naive)
    numeric_text = df.with_columns(pl.col("open").cast(pl.String))
    with pytest.raises(DataValidationError, match="column 'open': dtype String is not numeric"):
        validate_ohlcv(numeric_text)


def test_valid_frames_pass_unchanged(btc: pl.DataFrame) -> None:
    assert validate_ohlcv(btc) is btc
    ints = synthetic_candles(6).with_columns(pl.col("volume").round().cast(pl.Int64))
    assert validate_ohlcv(ints) is ints


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


KNOWN_GAPS = [  # (first bar after the gap, step in hours)
    (_utc(2021, 4, 20, 4), 3),
    (_utc(2021, 4, 25, 8), 4),
    (_utc(2021, 8, 13, 6), 5),
    (_utc(2021, 9, 29, 9), 3),
    (_utc(2023, 3, 24, 14), 2),
]


def test_gap_report_finds_exactly_the_known_btc_gaps(btc: pl.DataFrame) -> None:
    report = gap_report(btc)
    assert report.interval == timedelta(hours=1)
    assert [(g.resumes, g.hours) for g in report.gaps] == KNOWN_GAPS
    assert [g.missing_bars for g in report.gaps] == [2, 3, 4, 2, 1]
    assert all(g.resumes - g.previous == g.step for g in report.gaps)
    assert report.missing_bars == 12
    span_bars = (report.end - report.start) // report.interval + 1
    assert span_bars == report.bars + report.missing_bars == btc.height + 12
    text = report.format("BTCUSDT")
    assert "5 gaps, 12 missing bars" in text
    assert "gap before 2021-08-13T06:00:00+00:00: step 5 h, 4 missing bars" in text


def test_gap_report_with_explicit_interval_and_small_frames(btc: pl.DataFrame) -> None:
    four = btc.filter(pl.col("timestamp").dt.hour() % 4 == 0)
    report = gap_report(four, interval="4h")
    # Only two hourly holes swallow a 4h-aligned bar: 2021-08-13 04:00 and 2021-09-29 08:00.
    assert [g.resumes for g in report.gaps] == [_utc(2021, 8, 13, 8), _utc(2021, 9, 29, 12)]
    assert [g.missing_bars for g in report.gaps] == [1, 1]
    assert gap_report(btc.head(1)).interval is None
    assert gap_report(btc.head(1)).format() == "data: 1 bars, too few to infer an interval"
    assert gap_report(btc.head(0), interval="1h").gaps == ()
    with pytest.raises(ConfigError, match="interval '1 hour' is not an interval"):
        gap_report(btc, interval="1 hour")


def test_gap_report_never_fails_on_unsorted_or_irregular_data() -> None:
    df = synthetic_candles(10)
    shuffled = pl.concat([df.tail(5), df.head(5)])
    report = gap_report(shuffled, interval="1h")
    assert [g.missing_bars for g in report.gaps] == []
    irregular = df.with_columns(pl.col("timestamp") + pl.duration(minutes=pl.int_range(0, 10) * 7))
    report = gap_report(irregular, interval="1h")
    assert [g.missing_bars for g in report.gaps] == [1] * 9  # 67-minute steps: ceil(67/60)-1


def test_numeric_column_checks_presence_and_type_and_keeps_nulls_as_nan() -> None:
    frame = pl.DataFrame({"a": [1, None, 3], "b": ["x", "y", "z"]})
    values = numeric_column(frame, "a")
    assert values.dtype == np.float64
    np.testing.assert_array_equal(values, [1.0, np.nan, 3.0])
    with pytest.raises(DataValidationError, match="column 'b': must be numeric, got String"):
        numeric_column(frame, "b")
    with pytest.raises(DataValidationError, match="column 'c': required column is missing"):
        numeric_column(frame, "c")
    with pytest.raises(DataValidationError, match="column 'c': needed here"):
        numeric_column(frame, "c", missing="needed here")


def test_modal_step_ignores_gaps_and_non_positive_steps() -> None:
    assert modal_step(np.array([60, 60, 180, 60, 0, -60, 120])) == 60
    assert modal_step(np.array([120, 60, 120, 60])) == 60  # a tie goes to the smaller step
    assert modal_step(np.array([0, -5])) is None
    assert modal_step(np.full(5, 3600)) == 3600  # gap-free: the fast path
    assert modal_step(np.array([], dtype=np.int64)) is None
    assert modal_step(np.full(3, -60)) is None


@pytest.mark.parametrize(
    "bad", ["-021-05-17T16:00:00Z", "0021-05-17T16:00:00Z", "2150-01-01T00:00:00Z"]
)
def test_timestamps_outside_1970_to_2099_are_corrupt(tmp_path, bad: str) -> None:
    # found by tests/reliability/test_loader_fuzz.py: a damaged year parsed to -21 and the
    # error message itself failed (Python has no year -21)
    from models.data.loader import load_ohlcv

    rows = [f"2021-05-17T{h:02d}:00:00Z,1,2,0.5,1.5,10" for h in range(10)]
    rows[4] = bad + ",1,2,0.5,1.5,10"
    path = tmp_path / "BAD-1h.csv"
    path.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataValidationError, match=r"outside 1970\.\.2099") as err:
        load_ohlcv(path)
    assert err.value.row == 4 and err.value.column == "timestamp"


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("duplicate", "swap")])
@pytest.mark.parametrize("column", VALUE_COLUMNS)
def test_one_bar_frames_take_the_fast_path_only_when_valid(kind: str, column: str) -> None:
    # the live feed validates one bar at a time: the vectorised pass accepts a clean bar and
    # sends every broken one to the detailed checks, which name it
    bar = synthetic_candles(3, seed=7).slice(1, 1)
    assert _passes_all(bar)
    bad, row, blamed = _corrupt(bar, kind, 0, column)
    assert not _passes_all(bad)
    with pytest.raises(DataValidationError) as err:
        validate_ohlcv(bad)
    assert err.value.column == blamed
    # a lone null makes the whole column dtype Null: blamed on the column, not a row
    assert err.value.row == (None if kind == "null" else row)


def test_fast_path_refuses_what_the_detailed_checks_refuse_beyond_values() -> None:
    df = synthetic_candles(5, seed=2)
    assert _passes_all(df)
    local = df.with_columns(pl.col("timestamp").dt.convert_time_zone("Europe/Paris"))
    ms = df.with_columns(pl.col("timestamp").dt.cast_time_unit("ms"))
    early = df.with_columns(pl.col("timestamp") - timedelta(days=365 * 60))
    assert _passes_all(ms)
    for bad in (local, early, df.with_columns(pl.col("volume").cast(pl.String))):
        assert not _passes_all(bad)
        with pytest.raises(DataValidationError):
            validate_ohlcv(bad)
    assert _passes_all(df.with_columns(pl.col("volume").cast(pl.Int64)))
    assert not _passes_all(df.head(0))
    validate_ohlcv(df.head(0))  # no rows: nothing to refuse
