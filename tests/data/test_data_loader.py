"""Loader: the real directory as it is, every accepted format, and the errors it names."""

from __future__ import annotations

import gzip
import zipfile
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from models.data import load_market_data, load_ohlcv
from models.data.loader import split_name
from models.errors import DataValidationError
from tests.data.frames import synthetic_candles

REAL_SYMBOLS = [
    "ADAUSDT",
    "AVAXUSDT",
    "BNBUSDT",
    "BTCUSDT",
    "DOGEUSDT",
    "ETHUSDT",
    "LINKUSDT",
    "LTCUSDT",
    "SOLUSDT",
    "XRPUSDT",
]
SCHEMA = {
    "timestamp": pl.Datetime("us", "UTC"),
    "open": pl.Float64,
    "high": pl.Float64,
    "low": pl.Float64,
    "close": pl.Float64,
    "volume": pl.Float64,
}


@pytest.fixture
def candles() -> pl.DataFrame:
    return synthetic_candles(72, seed=3)


def _epoch(df: pl.DataFrame, unit: str) -> pl.DataFrame:
    factor = {"s": 1_000_000, "ms": 1_000, "us": 1}[unit]
    micros = pl.col("timestamp").dt.epoch("us")
    return df.with_columns(micros // factor)


def _binance_dump(df: pl.DataFrame, unit: str = "ms") -> pl.DataFrame:
    """The 12 columns of a data.binance.vision kline file (written without a header)."""
    factor = 1_000 if unit == "ms" else 1
    open_time = pl.col("timestamp").dt.epoch("us") // factor
    return df.select(
        open_time.alias("open_time"),
        "open",
        "high",
        "low",
        "close",
        "volume",
        (open_time + 3_600_000_000 // factor - 1).alias("close_time"),
        (pl.col("volume") * pl.col("close")).alias("quote_volume"),
        pl.lit(100).alias("count"),
        (pl.col("volume") / 2).alias("taker_buy_volume"),
        (pl.col("volume") * pl.col("close") / 2).alias("taker_buy_quote_volume"),
        pl.lit(0).alias("ignore"),
    )


def test_real_directory_loads_all_symbols(real_data_dir: Path) -> None:
    data = load_market_data(real_data_dir)
    assert sorted(data) == REAL_SYMBOLS
    for symbol, df in data.items():
        assert df.height == 23_987, symbol
        assert dict(df.schema) == SCHEMA
        assert df["timestamp"].is_sorted()
    reference = pl.read_csv(real_data_dir / "BTCUSDT-1h.csv.gz", try_parse_dates=True)
    assert_frame_equal(data["BTCUSDT"], reference)


def test_real_directory_symbol_selection(real_data_dir: Path) -> None:
    data = load_market_data(real_data_dir, symbols=["ethusdt", "BTCUSDT"], interval="1h")
    assert list(data) == ["ETHUSDT", "BTCUSDT"]
    with pytest.raises(DataValidationError) as err:
        load_market_data(real_data_dir, symbols=["BTCUSDT", "FOOUSDT"])
    message = str(err.value)
    assert "unknown symbol(s) FOOUSDT" in message
    assert "available: ADAUSDT, AVAXUSDT, BNBUSDT, BTCUSDT" in message


def test_single_file_gives_one_entry(real_data_dir: Path) -> None:
    data = load_market_data(real_data_dir / "SOLUSDT-1h.csv.gz")
    assert list(data) == ["SOLUSDT"]
    assert data["SOLUSDT"].height == 23_987


@pytest.mark.parametrize("name", ["x.csv", "x.csv.gz", "x.parquet", "x.zip"])
def test_containers(tmp_path: Path, candles: pl.DataFrame, name: str) -> None:
    path = tmp_path / name
    if name.endswith(".parquet"):
        candles.write_parquet(path)
    elif name.endswith(".gz"):
        path.write_bytes(gzip.compress(candles.write_csv().encode()))
    elif name.endswith(".zip"):
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("x.csv", candles.write_csv())
    else:
        candles.write_csv(path)
    assert_frame_equal(load_ohlcv(path), candles)


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_epoch_units_detected_by_magnitude(tmp_path: Path, candles: pl.DataFrame, unit: str):
    path = tmp_path / f"epoch_{unit}.csv"
    _epoch(candles, unit).write_csv(path)
    assert_frame_equal(load_ohlcv(path), candles)


def test_epoch_in_parquet_and_mixed_units(tmp_path: Path, candles: pl.DataFrame) -> None:
    # Binance moved from ms to µs timestamps in 2025; a merged file may hold both.
    mixed = pl.concat([_epoch(candles.head(30), "ms"), _epoch(candles.tail(42), "us")])
    mixed.write_parquet(tmp_path / "mixed.parquet")
    assert_frame_equal(load_ohlcv(tmp_path / "mixed.parquet"), candles)


def test_iso_with_offset_is_normalised_to_utc(tmp_path: Path, candles: pl.DataFrame) -> None:
    local = candles["timestamp"].dt.convert_time_zone("Etc/GMT-2")  # UTC+02:00
    text = local.dt.strftime("%Y-%m-%dT%H:%M:%S+02:00")
    assert text[0] == "2022-03-01T02:00:00+02:00"
    candles.with_columns(timestamp=text).write_csv(tmp_path / "offset.csv")
    assert_frame_equal(load_ohlcv(tmp_path / "offset.csv"), candles)


def test_naive_strings_and_datetimes_are_utc(tmp_path: Path, candles: pl.DataFrame) -> None:
    naive = candles.with_columns(pl.col("timestamp").dt.replace_time_zone(None))
    naive.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%d %H:%M:%S")).write_csv(
        tmp_path / "naive.csv"
    )
    naive.write_parquet(tmp_path / "naive.parquet")
    berlin = candles.with_columns(pl.col("timestamp").dt.convert_time_zone("Europe/Berlin"))
    berlin.write_parquet(tmp_path / "berlin.parquet")
    for name in ("naive.csv", "naive.parquet", "berlin.parquet"):
        assert_frame_equal(load_ohlcv(tmp_path / name), candles)


@pytest.mark.parametrize(
    "ts_name", ["timestamp", "date", "datetime", "time", "open_time", "Date", "Open Time"]
)
def test_header_spellings(tmp_path: Path, candles: pl.DataFrame, ts_name: str) -> None:
    renamed = candles.rename(
        {"timestamp": ts_name, "open": "Open", "high": "HIGH", "low": "Low", "close": "Close"}
    ).with_columns(pl.lit("x").alias("Adj Note"))
    renamed.write_csv(tmp_path / "caps.csv")
    assert_frame_equal(load_ohlcv(tmp_path / "caps.csv"), candles)


@pytest.mark.parametrize("unit", ["ms", "us"])
def test_binance_kline_dump_without_header(tmp_path: Path, candles: pl.DataFrame, unit: str):
    path = tmp_path / "BTCUSDT-1h-2022-03.csv"
    _binance_dump(candles, unit).write_csv(path, include_header=False)
    assert path.read_text().split(",")[0].isdigit()
    assert_frame_equal(load_ohlcv(path), candles)


def test_directory_of_mixed_formats_with_intervals(tmp_path: Path, candles: pl.DataFrame):
    candles.write_csv(tmp_path / "BTCUSDT-1h.csv")
    four_hourly = synthetic_candles(10, seed=5, step=timedelta(hours=4))
    four_hourly.write_parquet(tmp_path / "BTCUSDT-4h.parquet")
    candles.write_parquet(tmp_path / "ETHUSDT.parquet")
    (tmp_path / "notes.txt").write_text("not data")
    with pytest.raises(DataValidationError, match="two files for symbol BTCUSDT"):
        load_market_data(tmp_path)
    hourly = load_market_data(tmp_path, interval="1h")
    assert list(hourly) == ["BTCUSDT"]
    assert_frame_equal(load_market_data(tmp_path, interval="4h")["BTCUSDT"], four_hourly)
    assert_frame_equal(load_market_data(tmp_path, symbols=["ETHUSDT"])["ETHUSDT"], candles)


def test_split_name() -> None:
    assert split_name(Path("BTCUSDT-1h.csv.gz")) == ("BTCUSDT", "1h")
    assert split_name(Path("ethusdt.parquet")) == ("ETHUSDT", None)
    assert split_name(Path("SOLUSDT-15m-2023-01.zip")) == ("SOLUSDT", "15m")


def test_out_of_order_file_is_an_error_not_sorted(tmp_path: Path, candles: pl.DataFrame):
    shuffled = pl.concat([candles.slice(10, 5), candles.head(10), candles.tail(57)])
    shuffled.write_csv(tmp_path / "shuffled.csv")
    with pytest.raises(DataValidationError) as err:
        load_ohlcv(tmp_path / "shuffled.csv")
    assert (err.value.row, err.value.column) == (5, "timestamp")
    assert "shuffled.csv" in str(err.value) and "ascending" in str(err.value)


@pytest.mark.parametrize(
    ("row", "column", "value", "reason"),
    [
        (3, "close", "abc", "non-numeric value 'abc'"),
        (7, "volume", "1,5", "non-numeric value"),
        (4, "timestamp", "yesterday", "cannot read 'yesterday' as a time"),
        (6, "high", "", "missing value"),
        (2, "low", "nan", "non-finite value"),
        (5, "open", "-3", "price must be > 0"),
    ],
)
def test_bad_cells_in_files_are_named(
    tmp_path: Path, candles: pl.DataFrame, row, column, value, reason
) -> None:
    text = candles.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    text = text.cast(pl.String).with_row_index()
    text = text.with_columns(
        pl.when(pl.col("index") == row).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
    ).drop("index")
    path = tmp_path / "bad.csv"
    text.write_csv(path, quote_style="non_numeric")
    with pytest.raises(DataValidationError) as err:
        load_ohlcv(path)
    assert (err.value.row, err.value.column, err.value.source) == (row, column, str(path))
    assert reason in str(err.value)
    assert f"row {row}" in str(err.value) and f"column '{column}'" in str(err.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty"),
        (b"timestamp,open,high,low,close\n2022-01-01,1,1,1,1\n", "column 'volume': missing column"),
        (b"when,open,high,low,close,volume\n2022-01-01,1,1,1,1,1\n", "column 'timestamp'"),
        (b"timestamp,open,high,low,close,volume\n", "file has no rows"),
        (b"1640995200000,1,1,1,1\n", "headerless file has 5 columns"),
    ],
)
def test_unusable_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(DataValidationError, match=message):
        load_ohlcv(path)


def test_missing_paths_and_unknown_types(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="no such file"):
        load_ohlcv(tmp_path / "nope.csv")
    with pytest.raises(DataValidationError, match="no such file or directory"):
        load_market_data(tmp_path / "nope")
    with pytest.raises(DataValidationError, match="no candle files"):
        load_market_data(tmp_path)
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataValidationError, match="unknown file type"):
        load_ohlcv(tmp_path / "x.json")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataValidationError, match="not a readable Parquet file"):
        load_ohlcv(tmp_path / "broken.parquet")
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as archive:
        archive.writestr("a.csv", "x")
        archive.writestr("b.csv", "y")
    with pytest.raises(DataValidationError, match="exactly one CSV file, found 2"):
        load_ohlcv(tmp_path / "two.zip")
