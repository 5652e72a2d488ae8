"""Download Binance public kline archives into one ``<SYMBOL>-<interval>.csv.gz`` per symbol.

Uses data.binance.vision (no API key): monthly archives for whole months, daily ones for the
partial months at the ends, each verified against its CHECKSUM and kept in a cache under
``--out`` so an interrupted run resumes where it stopped. Writes the project's format
(``timestamp`` ISO UTC, ``open, high, low, close, volume``), validated, and prints a gap
report per symbol. Progress goes to stderr.

    python scripts/download_data.py --symbols BTCUSDT ETHUSDT --interval 1h \\
        --start 2021-04-01 --end 2023-12-31 --out data/binance_spot_1h

Exit status: 0 done; 1 a symbol failed (unknown symbol, network, checksum, bad data; the
other symbols are still written); 2 bad arguments (dates, symbols, options).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from models.cli import UsageError, run_cli
from models.data.binance_archive import (
    BINANCE_DATA_URL,
    INTERVALS,
    MARKETS,
    ArchiveSource,
    check_request,
    download_symbol,
    parse_date_range,
    write_candles,
)
from models.data.http_fetch import HttpFetcher
from models.data.validation import gap_report
from models.errors import DataValidationError, DownloadError


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", nargs="+", required=True, help="e.g. BTCUSDT ETHUSDT")
    parser.add_argument("--interval", default="1h", choices=INTERVALS)
    parser.add_argument("--start", required=True, help="first day, YYYY-MM-DD (UTC)")
    parser.add_argument("--end", help="last day, YYYY-MM-DD (UTC, inclusive); default yesterday")
    parser.add_argument("--market", default="spot", choices=sorted(MARKETS))
    parser.add_argument("--out", type=Path, default=Path("data"), help="output directory")
    parser.add_argument("--cache-dir", type=Path, help="verified archives (default OUT/.cache)")
    parser.add_argument("--base-url", default=BINANCE_DATA_URL, help="archive server")
    parser.add_argument("--retries", type=int, default=4, help="retries per request")
    parser.add_argument("--backoff", type=float, default=1.0, help="first retry delay, s")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, s")
    return parser.parse_args(argv)


def _symbols(raw: Sequence[str]) -> list[str]:
    """``["btcusdt,ethusdt", "SOLUSDT"]`` -> ``["BTCUSDT", "ETHUSDT", "SOLUSDT"]``."""
    symbols = [s.strip().upper() for item in raw for s in item.split(",") if s.strip()]
    if not symbols:
        raise UsageError("--symbols: no symbol given")
    return list(dict.fromkeys(symbols))


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.base_url.startswith(("http://", "https://")):
        raise UsageError(f"--base-url {args.base_url!r} must start with http:// or https://")
    symbols = _symbols(args.symbols)
    for symbol in symbols:
        check_request(symbol, args.interval, args.market)
    start, end = parse_date_range(args.start, args.end, datetime.now(timezone.utc).date())
    fetcher = HttpFetcher(args.retries, args.backoff, args.timeout, on_retry=_stderr)
    failures = 0
    for symbol in symbols:
        source = ArchiveSource(
            base_url=args.base_url,
            market=args.market,
            cache_dir=args.cache_dir or args.out / ".cache",
            fetcher=fetcher,
            progress=lambda msg, s=symbol: _stderr(f"{s}: {msg}"),
        )
        try:
            result = download_symbol(symbol, args.interval, start, end, source)
        except (DownloadError, DataValidationError) as exc:
            _stderr(f"error: {symbol}: {exc}")
            failures += 1
            continue
        path = args.out / f"{symbol}-{args.interval}.csv.gz"
        write_candles(result.candles, path)
        print(
            f"wrote {path}: {result.candles.height} bars ({result.downloaded} archives "
            f"downloaded, {result.cached} cached, {len(result.missing)} missing)"
        )
        for name in result.missing:
            print(f"  missing on the server: {name}")
        print(gap_report(result.candles, args.interval).format(symbol))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
