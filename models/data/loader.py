"""Read candle files in the formats people actually have into the one frame the project uses.

Accepted: CSV, gzipped CSV, a zip holding one CSV (Binance archives) and Parquet; headers
spelled ``timestamp / date / datetime / time / open_time`` and ``Open ... Volume`` in any
case; Binance's 12-column kline dumps without a header. Timestamps may be epoch seconds,
milliseconds, microseconds or nanoseconds (told apart per value by magnitude, because
Binance switched from ms to µs in 2025 and merged files can hold both) or ISO strings;
offsets are converted to UTC and strings without one are read as UTC.

The result is ``timestamp (Datetime('us', 'UTC')), open, high, low, close, volume
(Float64)``, checked by :func:`~models.data.validation.validate_ohlcv`. Rows are not sorted:
out-of-order input is reported (with its row) rather than silently reordered.
"""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from models.data.intervals import is_interval
from models.data.validation import OHLCV_COLUMNS, VALUE_COLUMNS, validate_ohlcv
from models.errors import DataValidationError

SUFFIXES: tuple[str, ...] = (".csv", ".csv.gz", ".zip", ".parquet", ".pq")

TIMESTAMP_ALIASES: tuple[str, ...] = (
    "timestamp",
    "open_time",
    "opentime",
    "datetime",
    "date",
    "time",
    "ts",
)
"""Header spellings of the bar's open time, most specific first (compared lower-cased)."""

BINANCE_KLINE_COLUMNS: tuple[str, ...] = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)

# Largest epoch value (exclusive) read in each unit; past year 5000 in the unit below.
_EPOCH_LIMITS: tuple[tuple[float, int], ...] = (
    (1e11, 1_000_000),  # seconds -> µs
    (1e14, 1_000),  # milliseconds
    (1e17, 1),  # microseconds
)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return ""


# What a truncated or corrupt zip / gzip raises while it is being decompressed (found by
# fuzzing: bad headers give OSError / ValueError, unknown methods NotImplementedError, a
# flipped "encrypted" flag RuntimeError).
_ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)

# Polars reports some corrupt files by panicking (a BaseException), not with PolarsError.
_POLARS_ERRORS = (pl.exceptions.PolarsError, pl.exceptions.PanicException)


def _read_parquet(path: Path) -> pl.DataFrame:
    """A Parquet file read by Arrow's reader, which raises on damaged files.

    Not ``pl.read_parquet``: a damaged page header (one flipped byte of a real file) makes
    polars' reader allocate exabytes and abort the whole process, which would take a
    replica, or the test run, down instead of answering an error.
    """
    try:
        table = pq.read_table(path)
        frame = pl.from_arrow(table)
    except (pa.ArrowException, OSError, ValueError, *_POLARS_ERRORS) as exc:
        raise DataValidationError(
            f"not a readable Parquet file ({exc})", source=str(path)
        ) from None
    if not isinstance(frame, pl.DataFrame):  # from_arrow of a Table is a frame; mypy cannot tell
        raise DataValidationError("not a table of columns", source=str(path))
    return frame


def _read_text_bytes(path: Path, suffix: str) -> bytes:
    """The CSV bytes inside ``path`` (decompressed; a zip must hold exactly one file)."""
    try:
        return _decompress(path, suffix)
    except DataValidationError:
        raise
    except _ARCHIVE_ERRORS as exc:
        kind = "zip" if suffix == ".zip" else "gzip"
        raise DataValidationError(
            f"not a readable {kind} archive ({type(exc).__name__}: {exc})", source=str(path)
        ) from None


def _decompress(path: Path, suffix: str) -> bytes:
    if suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if not m.endswith("/")]
            if len(members) != 1:
                raise DataValidationError(
                    f"zip archive must hold exactly one CSV file, found {len(members)}",
                    source=str(path),
                )
            return archive.read(members[0])
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw


def _has_header(text: bytes) -> bool:
    """Binance dumps start straight with numbers; a header starts with a name."""
    first = text.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0].split(b",", 1)[0].strip()
    try:
        float(first.decode("utf-8", "replace").strip('"'))
    except ValueError:
        return True
    return False


def _read_csv(path: Path, suffix: str) -> pl.DataFrame:
    text = _read_text_bytes(path, suffix)
    if text.startswith(b"\xef\xbb\xbf"):
        text = text[3:]
    if not text.strip():
        raise DataValidationError("file is empty", source=str(path))
    header = _has_header(text)
    try:
        df = pl.read_csv(io.BytesIO(text), has_header=header, infer_schema=False)
    except _POLARS_ERRORS as exc:
        raise DataValidationError(f"not a readable CSV file ({exc})", source=str(path)) from None
    if header:
        return df
    if df.width < len(OHLCV_COLUMNS):
        raise DataValidationError(
            f"headerless file has {df.width} columns; expected a Binance kline dump "
            f"({len(BINANCE_KLINE_COLUMNS)} columns starting open_time, open, high, low, "
            "close, volume)",
            source=str(path),
        )
    names = list(BINANCE_KLINE_COLUMNS[: df.width])
    names += [f"extra_{i}" for i in range(len(names), df.width)]
    return df.rename(dict(zip(df.columns, names, strict=True)))


def _standard_columns(df: pl.DataFrame, source: str) -> pl.DataFrame:
    """Pick and rename the timestamp and OHLCV columns from whatever the header says."""
    lowered: dict[str, str] = {}
    for col in df.columns:
        lowered.setdefault(col.strip().lower().replace(" ", "_"), col)
    ts_col = next((lowered[a] for a in TIMESTAMP_ALIASES if a in lowered), None)
    if ts_col is None:
        found = ", ".join(df.columns) or "none"
        raise DataValidationError(
            f"missing column; expected one of {', '.join(TIMESTAMP_ALIASES)} (found: {found})",
            source=source,
            column="timestamp",
        )
    picked = {"timestamp": ts_col}
    for name in VALUE_COLUMNS:
        if name not in lowered:
            found = ", ".join(df.columns)
            raise DataValidationError(
                f"missing column (found: {found})", source=source, column=name
            )
        picked[name] = lowered[name]
    return df.select(pl.col(src).alias(dst) for dst, src in picked.items())


def _epoch_to_datetime(values: pl.Series) -> pl.Series:
    """Epoch numbers in s / ms / µs / ns (per value, by magnitude) -> Datetime('us', UTC)."""
    exact = values.dtype.is_integer()
    number = pl.lit(values.cast(pl.Int64 if exact else pl.Float64))
    size = number.abs()
    (s_limit, s_scale), (ms_limit, ms_scale), (us_limit, _) = _EPOCH_LIMITS
    micros = (
        pl.when(size < s_limit)
        .then(number * s_scale)
        .when(size < ms_limit)
        .then(number * ms_scale)
        .when(size < us_limit)
        .then(number)
        .otherwise(number // 1_000)
    )
    if not exact:
        micros = micros.round()
    out = pl.select(micros.cast(pl.Int64)).to_series()
    return _naive_as_utc(out)


def _naive_as_utc(naive: pl.Series) -> pl.Series:
    """Times without a zone (or epoch µs) read as UTC, in µs."""
    micros: pl.Series = naive.cast(pl.Datetime("us"))
    return micros.dt.replace_time_zone("UTC")


def _blank_as_null(raw: pl.Series) -> pl.Series:
    """Strings with surrounding space removed; an empty cell is a missing value."""
    text: pl.Series = raw.cast(pl.String)
    text = text.str.strip_chars()
    return text.set(text == "", None)


def _parse_timestamps(raw: pl.Series, source: str) -> pl.Series:
    """Any supported timestamp column -> Datetime('us', 'UTC'), naming the first bad row."""
    dtype = raw.dtype
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is None:
            return _naive_as_utc(raw)
        utc: pl.Series = raw.dt.convert_time_zone("UTC").cast(pl.Datetime("us", "UTC"))
        return utc
    if dtype == pl.Date:
        return _naive_as_utc(raw)
    if dtype.is_numeric():
        return _epoch_to_datetime(raw)
    text = _blank_as_null(raw)
    numbers = text.cast(pl.Int64, strict=False)
    if numbers.null_count() == text.null_count():
        return _epoch_to_datetime(numbers)
    floats = text.cast(pl.Float64, strict=False)
    if floats.null_count() == text.null_count():
        return _epoch_to_datetime(floats)
    parsed = text.str.to_datetime(time_unit="us", time_zone="UTC", strict=False)
    bad = (parsed.is_null() & text.is_not_null()).arg_true()
    if bad.len():
        row = int(bad[0])
        raise DataValidationError(
            f"cannot read {raw[row]!r} as a time (expected ISO 8601 or epoch s/ms/µs)",
            source=source,
            row=row,
            column="timestamp",
        )
    return parsed


def _to_float(raw: pl.Series, column: str, source: str) -> pl.Series:
    if raw.dtype.is_numeric():
        floats: pl.Series = raw.cast(pl.Float64)
        return floats
    text = _blank_as_null(raw)
    values: pl.Series = text.cast(pl.Float64, strict=False)
    bad = (values.is_null() & text.is_not_null()).arg_true()
    if bad.len():
        row = int(bad[0])
        raise DataValidationError(
            f"non-numeric value {raw[row]!r}", source=source, row=row, column=column
        )
    return values


def _normalise(df: pl.DataFrame, source: str) -> pl.DataFrame:
    df = _standard_columns(df, source)
    columns = [_parse_timestamps(df["timestamp"], source).alias("timestamp")]
    columns += [_to_float(df[c], c, source).alias(c) for c in VALUE_COLUMNS]
    return pl.DataFrame(columns)


def load_ohlcv(path: str | Path) -> pl.DataFrame:
    """Load one candle file (CSV, CSV.gz, zip, Parquet) as a validated candle frame.

    Raises :class:`DataValidationError` naming the file (and row / column where there is
    one) for a missing file, an unknown format, or data that fails validation.
    """
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise DataValidationError("no such file", source=source)
    suffix = _suffix(path)
    if suffix in (".parquet", ".pq"):
        df = _read_parquet(path)
    elif suffix:
        df = _read_csv(path, suffix)
    else:
        known = ", ".join(SUFFIXES)
        raise DataValidationError(f"unknown file type; expected one of {known}", source=source)
    if df.height == 0:
        raise DataValidationError("file has no rows", source=source)
    return validate_ohlcv(_normalise(df, source), source=source)


def split_name(path: Path) -> tuple[str, str | None]:
    """Symbol and interval from a file name: ``BTCUSDT-1h.csv.gz`` -> ``("BTCUSDT", "1h")``.

    Without an interval part (``ETHUSDT.parquet``) the interval is None.
    """
    suffix = _suffix(path)
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.stem
    parts = stem.split("-")
    interval = parts[1] if len(parts) > 1 and is_interval(parts[1]) else None
    return parts[0].upper(), interval


def _candidates(path: Path, interval: str | None) -> dict[str, list[Path]]:
    """Symbol -> candle files for it in directory ``path`` (optionally of one interval)."""
    found: dict[str, list[Path]] = {}
    for file in sorted(path.iterdir()):
        if not file.is_file() or not _suffix(file):
            continue
        symbol, file_interval = split_name(file)
        if interval is None or file_interval == interval:
            found.setdefault(symbol, []).append(file)
    return found


def _only_file(symbol: str, files: list[Path], source: str) -> Path:
    if len(files) > 1:
        names = " and ".join(f.name for f in files)
        raise DataValidationError(
            f"two files for symbol {symbol}: {names}; pass interval= to choose", source=source
        )
    return files[0]


def load_market_data(
    path: str | Path,
    symbols: list[str] | tuple[str, ...] | None = None,
    interval: str | None = None,
) -> dict[str, pl.DataFrame]:
    """Load a directory of ``<SYMBOL>-<interval>.<ext>`` files (or one file) by symbol.

    ``symbols`` restricts (and orders) the result; asking for a symbol with no file
    raises :class:`DataValidationError` listing the symbols that exist. ``interval``
    keeps only files whose name carries that interval (``BTCUSDT-4h.csv``).
    """
    path = Path(path)
    if path.is_file():
        files = {split_name(path)[0]: [path]}
    elif path.is_dir():
        files = _candidates(path, interval)
    else:
        raise DataValidationError("no such file or directory", source=str(path))
    if not files:
        where = f" for interval {interval}" if interval else ""
        raise DataValidationError(
            f"no candle files{where} (expected {', '.join(SUFFIXES)})", source=str(path)
        )
    wanted = list(files) if symbols is None else [s.upper() for s in symbols]
    unknown = [s for s in wanted if s not in files]
    if unknown:
        raise DataValidationError(
            f"unknown symbol(s) {', '.join(unknown)}; available: {', '.join(sorted(files))}",
            source=str(path),
        )
    chosen = {symbol: _only_file(symbol, files[symbol], str(path)) for symbol in wanted}
    return {symbol: load_ohlcv(file) for symbol, file in chosen.items()}
