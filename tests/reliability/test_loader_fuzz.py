"""The data loaders under hostile files: our error naming the file, or a valid frame, nothing else.

Files are real BTC candles, written in every supported container and then damaged the way
files really get damaged (truncated downloads, flipped bytes, stray separators, shuffled or
repeated lines, random junk). Whatever comes in, :func:`load_ohlcv` either returns a frame that
passes validation or raises :class:`DataValidationError` whose message starts with the file;
a bare ``BadZipFile`` / ``EOFError`` / polars panic would reach users as a traceback.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.data import load_market_data, load_ohlcv, validate_ohlcv
from models.errors import DataValidationError

CONTAINERS = (".csv", ".csv.gz", ".zip", ".parquet")
JUNK = (b",", b"\n", b'"', b"\x00", b"1e309", b"-", b"\r", b";", b"nan", b"inf", b"\xff\xfe")
FUZZ = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def sample(btc: pl.DataFrame) -> pl.DataFrame:
    return btc.slice(1000, 40)


def _csv_bytes(frame: pl.DataFrame) -> bytes:
    text = frame.with_columns(pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return text.write_csv().encode()


def _pack(payload: bytes, frame: pl.DataFrame, container: str) -> bytes:
    """``payload`` (CSV bytes) in ``container``; Parquet ignores it and encodes ``frame``."""
    if container == ".csv.gz":
        return gzip.compress(payload)
    if container == ".zip":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("BTCUSDT-1h.csv", payload)
        return out.getvalue()
    if container == ".parquet":
        out = io.BytesIO()
        frame.write_parquet(out)
        return out.getvalue()
    return payload


@st.composite
def damage(draw: st.DrawFn, data: bytes) -> bytes:
    """One realistic way of breaking ``data``."""
    kind = draw(st.sampled_from(("flip", "truncate", "insert", "shuffle", "repeat", "junk")))
    buf = bytearray(data)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            buf[draw(st.integers(0, len(buf) - 1))] = draw(st.integers(0, 255))
    elif kind == "truncate":
        del buf[draw(st.integers(0, len(buf) - 1)) :]
    elif kind == "insert":
        at = draw(st.integers(0, len(buf)))
        buf[at:at] = draw(st.sampled_from(JUNK))
    elif kind in ("shuffle", "repeat"):
        lines = bytes(buf).split(b"\n")
        if kind == "shuffle":
            lines = draw(st.permutations(lines))
        else:
            lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(lines)))
        buf = bytearray(b"\n".join(lines))
    else:
        buf = bytearray(draw(st.binary(max_size=400)))
    return bytes(buf)


def _load_or_explain(path: Path) -> pl.DataFrame | None:
    """The loaded frame, or None after checking the error is ours and names the file."""
    try:
        frame = load_ohlcv(path)
    except DataValidationError as exc:
        assert str(exc).startswith(f"file {path}"), str(exc)
        assert exc.reason, "an error without a reason"
        return None
    validate_ohlcv(frame)
    return frame


@FUZZ
@given(data=st.data(), container=st.sampled_from(CONTAINERS), compressed_layer=st.booleans())
def test_damaged_files_fail_with_our_error(tmp_path, sample, data, container, compressed_layer):
    """Damage the CSV text before packing, or the packed bytes themselves."""
    csv = _csv_bytes(sample)
    if compressed_layer or container == ".parquet":
        blob = data.draw(damage(_pack(csv, sample, container)))
    else:
        blob = _pack(data.draw(damage(csv)), sample, container)
    path = tmp_path / f"BTCUSDT-1h{container}"
    path.write_bytes(blob)
    frame = _load_or_explain(path)
    if frame is not None and container == ".csv":
        assert frame.height <= sample.height + 1  # one repeated line at most


@pytest.mark.parametrize(
    ("suffix", "make"),
    [
        (".csv.gz", lambda b: gzip.compress(b)[:-9]),
        (".csv.gz", lambda b: b"\x1f\x8b" + b"\x00" * 30),
        (".zip", lambda b: _pack(b, pl.DataFrame(), ".zip")[:-30]),
        (".zip", lambda b: b"PK\x03\x04" + b"\x00" * 40),
    ],
    ids=["gzip-truncated", "gzip-header-only", "zip-truncated", "zip-garbage"],
)
def test_broken_archives_are_named(tmp_path, sample, suffix, make) -> None:
    reason = "not a readable zip archive" if suffix == ".zip" else "not a readable gzip archive"
    path = tmp_path / f"BTCUSDT-1h{suffix}"
    path.write_bytes(make(_csv_bytes(sample)))
    with pytest.raises(DataValidationError, match=reason) as err:
        load_ohlcv(path)
    assert err.value.source == str(path)


def test_every_single_damaged_parquet_byte_fails_with_our_error(tmp_path, sample) -> None:
    """Each byte of a real Parquet file replaced in turn: an error of ours or a valid frame.

    Pins the example that took a whole pytest run down (polars 2.1's writer, byte 1497 set to
    0x5d: a page header claiming 2**61 values made polars' own reader abort the process);
    the sweep keeps it pinned whichever offset a later writer puts that header at.
    """
    clean = _pack(b"", sample, ".parquet")
    path = tmp_path / "BTCUSDT-1h.parquet"
    for offset in range(len(clean)):
        damaged = bytearray(clean)
        damaged[offset] = 0x5D
        path.write_bytes(bytes(damaged))
        _load_or_explain(path)


@settings(max_examples=60, deadline=None)
@given(
    symbol=st.one_of(
        st.sampled_from(("../BTCUSDT", "..", "/etc/passwd", "BTC/../../x", "btc\x00usdt", "")),
        st.text(min_size=1, max_size=30),
    )
)
def test_unknown_or_traversing_symbols_never_escape_the_directory(real_data_dir, symbol) -> None:
    """A symbol is looked up among the directory's files, never joined into a path."""
    available = {p.name.split("-")[0] for p in real_data_dir.iterdir()}
    if symbol.upper() in available:
        return
    with pytest.raises(DataValidationError, match="unknown symbol") as err:
        load_market_data(real_data_dir, symbols=[symbol])
    assert "available: ADAUSDT" in str(err.value)


def test_directory_with_a_corrupt_member_names_that_file(tmp_path, sample) -> None:
    (tmp_path / "ETHUSDT-1h.csv").write_bytes(_csv_bytes(sample))
    bad = tmp_path / "BTCUSDT-1h.csv.gz"
    bad.write_bytes(gzip.compress(_csv_bytes(sample))[:50])
    with pytest.raises(DataValidationError, match="not a readable gzip archive") as err:
        load_market_data(tmp_path)
    assert err.value.source == str(bad)
    assert load_market_data(tmp_path, symbols=["ethusdt"])["ETHUSDT"].height == sample.height
