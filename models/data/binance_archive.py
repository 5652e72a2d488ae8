"""Binance public kline archives (data.binance.vision): plan, fetch, verify, cache, merge.

Binance publishes one zip per symbol, interval and month (``.../monthly/klines/BTCUSDT/1h/
BTCUSDT-1h-2021-05.zip``) and per day (``.../daily/klines/...-2021-05-03.zip``), each with a
``.zip.CHECKSUM`` file holding its SHA-256. A date range is covered by monthly archives for
whole months and daily ones for the partial months at either end: the fewest requests.

Every archive is checked against its CHECKSUM before it is kept, in a cache that makes an
interrupted download resumable. No API key is needed. Progress goes to a callback so the
library itself never prints.
"""

from __future__ import annotations

import calendar
import gzip
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from models.data.http_fetch import HttpFetcher
from models.data.loader import load_ohlcv
from models.data.validation import OHLCV_COLUMNS, validate_ohlcv
from models.errors import ConfigError, DownloadError

BINANCE_DATA_URL = "https://data.binance.vision"
INTERVALS: tuple[str, ...] = (
    "1m",
    "3m",
    "5m",
    "15m",
    "30m",
    "1h",
    "2h",
    "4h",
    "6h",
    "8h",
    "12h",
    "1d",
)
MARKETS: dict[str, str] = {"spot": "data/spot", "futures": "data/futures/um"}
_SYMBOL = re.compile(r"^[A-Z0-9]{2,30}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Archive:
    """One zip on the server: ``period`` is ``YYYY-MM`` (monthly) or ``YYYY-MM-DD`` (daily)."""

    market: str
    symbol: str
    interval: str
    period: str

    @property
    def daily(self) -> bool:
        return len(self.period) == 10

    @property
    def filename(self) -> str:
        return f"{self.symbol}-{self.interval}-{self.period}.zip"

    def url(self, base_url: str) -> str:
        kind = "daily" if self.daily else "monthly"
        root = f"{base_url.rstrip('/')}/{MARKETS[self.market]}/{kind}/klines"
        return f"{root}/{self.symbol}/{self.interval}/{self.filename}"

    def cache_path(self, cache_dir: Path) -> Path:
        return cache_dir / self.market / self.symbol / self.interval / self.filename


def check_request(symbol: str, interval: str, market: str) -> None:
    """Raise :class:`ConfigError` for a symbol, interval or market Binance cannot have."""
    if not _SYMBOL.match(symbol):
        raise ConfigError(f"symbol {symbol!r} is not a Binance symbol (A-Z and 0-9, e.g. BTCUSDT)")
    if interval not in INTERVALS:
        raise ConfigError(f"interval {interval!r} is not one of {', '.join(INTERVALS)}")
    if market not in MARKETS:
        raise ConfigError(f"market {market!r} is not one of {', '.join(MARKETS)}")


def _parse_date(text: str, name: str) -> date:
    try:
        if not _DATE.match(text):
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{name} {text!r} is not a valid date (YYYY-MM-DD)") from None


def parse_date_range(start: str, end: str | None, today: date) -> tuple[date, date]:
    """Inclusive (start, end) from ``YYYY-MM-DD`` strings; ``end`` defaults to yesterday.

    Raises :class:`ConfigError` for unparseable dates, an end before the start, or a
    date after ``today`` (Binance cannot have archives for the future).
    """
    first = _parse_date(start, "--start")
    last = _parse_date(end, "--end") if end is not None else today - timedelta(days=1)
    for name, value in (("--start", first), ("--end", last)):
        if value > today:
            raise ConfigError(f"{name} {value} is in the future (today is {today} UTC)")
    if last < first:
        raise ConfigError(f"--end {last} is before --start {first}")
    return first, last


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def plan_archives(
    symbol: str, interval: str, start: date, end: date, market: str = "spot"
) -> list[Archive]:
    """Archives covering ``start..end`` (inclusive), oldest first: whole months as monthly
    archives, the partial months at the ends as daily ones."""
    check_request(symbol, interval, market)
    plan: list[Archive] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        month_first = date(year, month, 1)
        month_last = date(year, month, calendar.monthrange(year, month)[1])
        first, last = max(start, month_first), min(end, month_last)
        if (first, last) == (month_first, month_last):
            plan.append(Archive(market, symbol, interval, f"{year:04d}-{month:02d}"))
        else:
            plan += [Archive(market, symbol, interval, d.isoformat()) for d in _days(first, last)]
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return plan


def daily_archives_of(archive: Archive) -> list[Archive]:
    """The daily archives of a monthly one (used when the monthly is not published yet)."""
    year, month = (int(p) for p in archive.period.split("-"))
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    return [
        Archive(archive.market, archive.symbol, archive.interval, d.isoformat())
        for d in _days(first, last)
    ]


def parse_checksum(text: bytes, archive: Archive) -> str:
    """The SHA-256 in a ``<sha256>  <filename>`` CHECKSUM file (lower-case hex)."""
    parts = text.decode("utf-8", "replace").split()
    if not parts or not _SHA256.match(parts[0]):
        raise DownloadError(f"malformed CHECKSUM file for {archive.filename}: {text[:80]!r}")
    if len(parts) > 1 and parts[-1] != archive.filename:
        raise DownloadError(
            f"CHECKSUM file for {archive.filename} names another file ({parts[-1]})"
        )
    return parts[0].lower()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def is_cached(archive: Archive, cache_dir: Path) -> bool:
    """True when the archive and its CHECKSUM are in the cache and still agree."""
    path = archive.cache_path(cache_dir)
    checksum = path.with_name(path.name + ".CHECKSUM")
    if not (path.is_file() and checksum.is_file()):
        return False
    try:
        expected = parse_checksum(checksum.read_bytes(), archive)
    except DownloadError:
        return False
    return _sha256(path.read_bytes()) == expected


def fetch_archive(
    archive: Archive, base_url: str, cache_dir: Path, fetcher: HttpFetcher
) -> tuple[Path, bool]:
    """Path of the verified archive in the cache, and whether it had to be downloaded.

    A checksum mismatch raises :class:`DownloadError` and keeps nothing of the archive.
    """
    path = archive.cache_path(cache_dir)
    if is_cached(archive, cache_dir):
        return path, False
    url = archive.url(base_url)
    checksum_text = fetcher.get(url + ".CHECKSUM")
    expected = parse_checksum(checksum_text, archive)
    data = fetcher.get(url)
    actual = _sha256(data)
    if actual != expected:
        path.unlink(missing_ok=True)
        raise DownloadError(
            f"checksum mismatch for {archive.filename}: CHECKSUM says {expected}, "
            f"downloaded file has {actual}; the archive was not kept",
            url=url,
        )
    _write_atomic(path.with_name(path.name + ".CHECKSUM"), checksum_text)
    _write_atomic(path, data)
    return path, True


@dataclass(frozen=True)
class SymbolDownload:
    """One symbol's merged candles and what it took: archives fetched, reused, missing."""

    symbol: str
    candles: pl.DataFrame
    downloaded: int
    cached: int
    missing: tuple[str, ...]


@dataclass(frozen=True)
class ArchiveSource:
    """Where archives come from and go: server, market, cache, HTTP client, progress."""

    base_url: str = BINANCE_DATA_URL
    market: str = "spot"
    cache_dir: Path = Path(".cache")
    fetcher: HttpFetcher | None = None
    progress: Progress | None = None

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)


def _unknown_symbol(archive: Archive, url: str) -> DownloadError:
    return DownloadError(
        f"no archive for {archive.symbol} at {url} (HTTP 404): unknown {archive.market} "
        f"symbol, or no {archive.interval} data for it at --start; check the symbol or "
        "try a later --start",
        url=url,
        status=404,
    )


def download_symbol(
    symbol: str, interval: str, start: date, end: date, source: ArchiveSource
) -> SymbolDownload:
    """Fetch (or reuse) every archive of ``symbol`` in ``start..end`` and merge them.

    A 404 before any data was found means the symbol is unknown (error); a later 404 is
    a hole in Binance's archive: a missing monthly archive falls back to its daily ones,
    a missing daily one is skipped and listed in ``missing`` (the gap report shows it).
    """
    fetcher = source.fetcher or HttpFetcher()
    pending = plan_archives(symbol, interval, start, end, source.market)
    total = len(pending)
    frames: list[pl.DataFrame] = []
    missing: list[str] = []
    downloaded = cached = 0
    while pending:
        archive = pending.pop(0)
        try:
            path, fresh = fetch_archive(archive, source.base_url, source.cache_dir, fetcher)
        except DownloadError as exc:
            if exc.status != 404:
                raise
            if not frames:
                raise _unknown_symbol(archive, archive.url(source.base_url)) from None
            if not archive.daily:
                source.say(f"{archive.filename} not published; using daily archives")
                days = daily_archives_of(archive)
                pending[:0] = days
                total += len(days) - 1
                continue
            missing.append(archive.filename)
            source.say(f"{archive.filename} missing on the server (HTTP 404); skipped")
            continue
        downloaded, cached = downloaded + fresh, cached + (not fresh)
        frames.append(load_ohlcv(path))
        done = downloaded + cached + len(missing)
        source.say(f"[{done}/{total}] {archive.filename} {'downloaded' if fresh else 'cached'}")
    return SymbolDownload(symbol, merge_candles(frames, symbol), downloaded, cached, tuple(missing))


def merge_candles(frames: list[pl.DataFrame], name: str) -> pl.DataFrame:
    """One sorted, validated frame; identical repeated rows collapse, conflicting ones fail."""
    merged = pl.concat(frames).sort("timestamp").unique(maintain_order=True)
    return validate_ohlcv(merged, source=name)


def write_candles(df: pl.DataFrame, path: Path) -> None:
    """Write the project's ``timestamp,open,high,low,close,volume`` CSV (gzip when .gz)."""
    text = df.select(OHLCV_COLUMNS).write_csv(datetime_format="%Y-%m-%dT%H:%M:%SZ")
    data = text.encode()
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    _write_atomic(path, data)
