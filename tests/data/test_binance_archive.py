"""Archive planning, verified fetching, resume and merging against a loopback server."""

from __future__ import annotations

import gzip
import socket
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from models.data.binance_archive import (
    Archive,
    ArchiveSource,
    check_request,
    download_symbol,
    merge_candles,
    parse_checksum,
    parse_date_range,
    plan_archives,
    write_candles,
)
from models.data.http_fetch import HttpFetcher
from models.data.loader import load_ohlcv
from models.errors import ConfigError, DataValidationError, DownloadError
from tests.data.archive_server import ArchiveServer, build_archives

START, END = date(2021, 4, 10), date(2021, 6, 5)
MONTHLY = "/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-{}.zip"
DAILY = "/data/spot/daily/klines/BTCUSDT/1h/BTCUSDT-1h-{}.zip"


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def source_candles(real_candles) -> pl.DataFrame:
    """Real BTCUSDT hours of 2021-04 .. 2021-06 (holds two of the known exchange gaps)."""
    btc = real_candles("BTCUSDT")
    return btc.filter(pl.col("timestamp") < _utc(2021, 7, 1))


@pytest.fixture(scope="module")
def archives(source_candles: pl.DataFrame) -> dict[str, bytes]:
    # June in µs, as Binance writes since 2025: the merge must mix both units.
    return build_archives(source_candles, "BTCUSDT", micros_from=date(2021, 6, 1))


@pytest.fixture
def server(archives: dict[str, bytes]):
    with ArchiveServer(dict(archives)) as srv:
        yield srv


def _source(server: ArchiveServer, tmp_path: Path, messages: list[str] | None = None):
    fetcher = HttpFetcher(retries=2, backoff=0.0, timeout=5.0)
    progress = messages.append if messages is not None else None
    return ArchiveSource(server.url, "spot", tmp_path / "cache", fetcher, progress)


def _expected(candles: pl.DataFrame, first: date, last: date) -> pl.DataFrame:
    day = pl.col("timestamp").dt.date()
    return candles.filter(day.is_between(first, last))


def test_plan_uses_monthly_for_whole_months_and_daily_at_the_ends() -> None:
    plan = plan_archives("BTCUSDT", "1h", date(2021, 11, 29), date(2022, 2, 2))
    assert [a.period for a in plan] == [
        "2021-11-29",
        "2021-11-30",
        "2021-12",
        "2022-01",
        "2022-02-01",
        "2022-02-02",
    ]
    whole = plan_archives("ETHUSDT", "15m", date(2024, 2, 1), date(2024, 2, 29))
    assert [a.filename for a in whole] == ["ETHUSDT-15m-2024-02.zip"]
    assert len(plan_archives("ETHUSDT", "1d", date(2024, 2, 1), date(2024, 2, 28))) == 28
    assert plan_archives("X1", "1m", date(2023, 5, 7), date(2023, 5, 7))[0].daily


def test_archive_urls_follow_the_binance_layout() -> None:
    base = "https://data.binance.vision/"
    spot = Archive("spot", "BTCUSDT", "1h", "2021-05")
    assert spot.url(base) == (
        "https://data.binance.vision/data/spot/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2021-05.zip"
    )
    futures = Archive("futures", "ETHUSDT", "4h", "2023-01-02")
    assert futures.url(base) == (
        "https://data.binance.vision/data/futures/um/daily/klines/ETHUSDT/4h/"
        "ETHUSDT-4h-2023-01-02.zip"
    )
    assert futures.cache_path(Path("c")) == Path("c/futures/ETHUSDT/4h/ETHUSDT-4h-2023-01-02.zip")


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2021-02-30", "2021-03-01", "--start '2021-02-30' is not a valid date (YYYY-MM-DD)"),
        ("2021-01-01", "01/02/2021", "--end '01/02/2021' is not a valid date"),
        ("last week", None, "--start 'last week' is not a valid date"),
        ("2021-03-02", "2021-03-01", "--end 2021-03-01 is before --start 2021-03-02"),
        ("2021-01-01", "2024-06-02", "--end 2024-06-02 is in the future (today is 2024-06-01 UTC)"),
        ("2024-07-01", None, "--start 2024-07-01 is in the future"),
    ],
)
def test_bad_dates(start: str, end: str | None, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_date_range(start, end, today=date(2024, 6, 1))
    assert message in str(err.value)


def test_date_range_defaults_end_to_yesterday() -> None:
    today = date(2024, 6, 1)
    assert parse_date_range("2024-05-01", None, today) == (date(2024, 5, 1), date(2024, 5, 31))
    assert parse_date_range("2024-06-01", "2024-06-01", today) == (today, today)


@pytest.mark.parametrize(
    ("symbol", "interval", "market", "message"),
    [
        ("btc-usdt", "1h", "spot", "symbol 'btc-usdt' is not a Binance symbol"),
        ("BTCUSDT", "2d", "spot", "interval '2d' is not one of 1m, 3m, 5m"),
        ("BTCUSDT", "1h", "options", "market 'options' is not one of spot, futures"),
    ],
)
def test_bad_requests(symbol: str, interval: str, market: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_request(symbol, interval, market)


def test_checksum_file_parsing() -> None:
    archive = Archive("spot", "BTCUSDT", "1h", "2021-05")
    digest = "AB" * 32
    assert parse_checksum(f"{digest}  BTCUSDT-1h-2021-05.zip\n".encode(), archive) == digest.lower()
    with pytest.raises(DownloadError, match=r"malformed CHECKSUM file for BTCUSDT-1h-2021-05\.zip"):
        parse_checksum(b"<html>not found</html>", archive)
    with pytest.raises(DownloadError, match="names another file"):
        parse_checksum(f"{digest}  ETHUSDT-1h-2021-05.zip".encode(), archive)


def test_download_merges_to_the_source_candles(server, tmp_path, source_candles) -> None:
    messages: list[str] = []
    result = download_symbol("BTCUSDT", "1h", START, END, _source(server, tmp_path, messages))
    assert_frame_equal(result.candles, _expected(source_candles, START, END))
    assert (result.downloaded, result.cached, result.missing) == (27, 0, ())
    assert server.archive_requests() == sorted(
        [DAILY.format(f"2021-04-{d:02d}") for d in range(10, 31)]
        + [MONTHLY.format("2021-05")]
        + [DAILY.format(f"2021-06-{d:02d}") for d in range(1, 6)]
    )
    assert messages[0] == "[1/27] BTCUSDT-1h-2021-04-10.zip downloaded"
    assert messages[-1] == "[27/27] BTCUSDT-1h-2021-06-05.zip downloaded"


def test_resume_reuses_verified_archives(server, tmp_path, source_candles) -> None:
    source = _source(server, tmp_path)
    first = download_symbol("BTCUSDT", "1h", START, END, source)
    before = sum(server.requests.values())
    again = download_symbol("BTCUSDT", "1h", START, END, source)
    assert sum(server.requests.values()) == before  # nothing fetched
    assert (again.downloaded, again.cached) == (0, 27)
    assert_frame_equal(again.candles, first.candles)
    # A lost archive and a corrupted one are fetched again; the rest are reused.
    cache = tmp_path / "cache" / "spot" / "BTCUSDT" / "1h"
    (cache / "BTCUSDT-1h-2021-05.zip").unlink()
    (cache / "BTCUSDT-1h-2021-04-12.zip").write_bytes(b"truncated")
    third = download_symbol("BTCUSDT", "1h", START, END, source)
    assert (third.downloaded, third.cached) == (2, 25)
    assert_frame_equal(third.candles, first.candles)


def test_checksum_mismatch_keeps_nothing(server, tmp_path) -> None:
    path = MONTHLY.format("2021-05")
    server.files[path + ".CHECKSUM"] = f"{'0' * 64}  BTCUSDT-1h-2021-05.zip".encode()
    with pytest.raises(DownloadError) as err:
        download_symbol("BTCUSDT", "1h", START, END, _source(server, tmp_path))
    assert "checksum mismatch for BTCUSDT-1h-2021-05.zip" in str(err.value)
    assert "was not kept" in str(err.value)
    cache = tmp_path / "cache" / "spot" / "BTCUSDT" / "1h"
    assert not (cache / "BTCUSDT-1h-2021-05.zip").exists()
    assert not list(cache.glob("*.part"))
    assert (cache / "BTCUSDT-1h-2021-04-30.zip").exists()  # earlier ones stay for resume


def test_unknown_symbol_is_a_404_on_the_first_archive(server, tmp_path) -> None:
    with pytest.raises(DownloadError) as err:
        download_symbol("NOPEUSDT", "1h", START, END, _source(server, tmp_path))
    assert err.value.status == 404
    assert "no archive for NOPEUSDT" in str(err.value)
    assert "unknown spot symbol" in str(err.value)
    assert sum(server.requests.values()) == 1  # stops at the first archive's CHECKSUM


def test_later_holes_fall_back_or_are_listed(server, tmp_path, source_candles) -> None:
    del server.files[MONTHLY.format("2021-05")]  # monthly not published: use the days
    del server.files[DAILY.format("2021-05-17")]  # a day Binance never published
    del server.files[DAILY.format("2021-06-03") + ".CHECKSUM"]
    messages: list[str] = []
    result = download_symbol("BTCUSDT", "1h", START, END, _source(server, tmp_path, messages))
    assert result.missing == ("BTCUSDT-1h-2021-05-17.zip", "BTCUSDT-1h-2021-06-03.zip")
    assert result.downloaded == 21 + 30 + 4
    assert "BTCUSDT-1h-2021-05.zip not published; using daily archives" in messages
    day = pl.col("timestamp").dt.date()
    expected = _expected(source_candles, START, END).filter(
        ~day.is_in([date(2021, 5, 17), date(2021, 6, 3)])
    )
    assert_frame_equal(result.candles, expected)
    assert messages[-1] == "[57/57] BTCUSDT-1h-2021-06-05.zip downloaded"


def test_transient_errors_are_retried_with_backoff(server) -> None:
    path = MONTHLY.format("2021-05")
    server.fail[path] = (503, 2)
    delays: list[float] = []
    notes: list[str] = []
    fetcher = HttpFetcher(retries=3, backoff=0.5, sleep=delays.append, on_retry=notes.append)
    assert fetcher.get(server.url + path) == server.files[path]
    assert delays == [0.5, 1.0]
    assert server.requests[path] == 3
    assert "HTTP 503" in notes[0] and "retry 1/3 in 0.5 s" in notes[0]
    server.fail[path] = (500, 5)
    with pytest.raises(DownloadError, match="after 4 attempt"):
        fetcher.get(server.url + path)
    assert delays == [0.5, 1.0, 0.5, 1.0, 2.0]


def test_final_http_errors_are_not_retried(server) -> None:
    delays: list[float] = []
    fetcher = HttpFetcher(retries=3, sleep=delays.append)
    server.fail["/forbidden"] = (403, 1)
    with pytest.raises(DownloadError, match="HTTP 403") as err:
        fetcher.get(server.url + "/forbidden")
    assert err.value.status == 403 and delays == []


def test_server_down_is_a_network_failure() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delays: list[float] = []
    fetcher = HttpFetcher(retries=2, backoff=0.25, sleep=delays.append)
    with pytest.raises(DownloadError) as err:
        fetcher.get(f"http://127.0.0.1:{port}/x.zip")
    assert str(err.value).startswith(f"network failure fetching http://127.0.0.1:{port}/x.zip")
    assert "after 3 attempt(s)" in str(err.value) and err.value.status is None
    assert delays == [0.25, 0.5]
    with pytest.raises(ConfigError, match="retries must be >= 0"):
        HttpFetcher(retries=-1)


def test_merge_and_write(tmp_path, source_candles) -> None:
    day1, day2 = source_candles.slice(0, 24), source_candles.slice(24, 24)
    assert_frame_equal(merge_candles([day2, day1, day1], "m"), source_candles.head(48))
    changed = day1.with_columns(pl.col("volume") + 1.0)
    with pytest.raises(DataValidationError, match="file m, row 1, column 'timestamp': duplicate"):
        merge_candles([day1, changed], "m")
    out = tmp_path / "BTCUSDT-1h.csv.gz"
    write_candles(source_candles.with_columns(rsi=pl.lit(1.0)), out)
    lines = gzip.decompress(out.read_bytes()).decode().splitlines()
    assert lines[0] == "timestamp,open,high,low,close,volume"
    assert lines[1].startswith("2021-04-04T21:00:00Z,58025.11,")
    assert_frame_equal(load_ohlcv(out), source_candles)
    assert not list(tmp_path.glob("*.part"))
