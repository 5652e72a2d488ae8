"""The paper book run live for a replayed week, next to the evaluation's replay of it.

The real app on a local Ray follows a fake exchange (tests/feed/fake_exchange.py, 127.0.0.1
only) that serves ``--history`` bars of real hourly candles of ``--symbols``, then closes one
bar at a time for ``--bars`` bars (168: a week); after each bar the feed stores every
symbol's signal and the state steps the paper and shadow books. The state replica is
killed after bar ``--kill-at`` (0: never). Afterwards the stored candles and signals are
replayed by the evaluation's book (``models.trading.replay``, what ``book.csv`` runs) and
both books are printed side by side, every ``--every`` bars and in total: equity live and
replayed, buy-and-hold, fills, and whether every fill is identical. Exit 1 when they differ.

    PYTHONPATH=$PWD python scripts/bench_book.py [--bars 168] [--kill-at 84]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from models.benchmark import require_positive
from models.cli import UsageError, run_cli
from models.data.loader import load_ohlcv
from models.data.paths import default_data_dir

HOUR_MS = 3_600_000


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", nargs="+", default=["BTCUSDT", "ETHUSDT", "SOLUSDT"])
    parser.add_argument("--bars", type=int, default=168, help="bars replayed (168: a week)")
    parser.add_argument("--history", type=int, default=600, help="bars backfilled first")
    parser.add_argument("--start-row", type=int, default=20_000, help="first replayed row")
    parser.add_argument("--kill-at", type=int, default=84, help="kill the state after this bar")
    parser.add_argument("--every", type=int, default=24, help="table rows every this many bars")
    parser.add_argument("--trading", type=Path, help="trading YAML (default: the service's)")
    parser.add_argument("--registry", help="model registry to serve (default: rule members)")
    parser.add_argument("--num-cpus", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0, help="bound on one bar (s)")
    args = parser.parse_args(argv)
    require_positive(args, "bars", "history", "every", "num_cpus", "timeout")
    if not 0 <= args.kill_at < args.bars:
        raise UsageError(f"--kill-at must be in [0, --bars), got {args.kill_at}")
    return args


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _open_ms(frame: Any, row: int) -> int:
    return int(frame["timestamp"][row].timestamp() * 1000)


def wait_books(app: Any, bar_ms: int, timeout_s: float) -> None:
    """Until the books have stepped ``bar_ms``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            as_of = app.client.get("/v1/portfolio").json().get("as_of")
            if as_of is not None and _ms(as_of) >= bar_ms:
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"the books did not step bar {bar_ms} in {timeout_s} s")


def stored_series(app: Any, symbols: Sequence[str], vol_window: int) -> list[Any]:
    """The stored bars from the first signal on, as the evaluation's book reads them."""
    from models.labels import trailing_sigma
    from models.trading.replay import Series
    from models.trading.score import answer_score

    first = app.query("SELECT MIN(as_of) FROM predictions")[0][0]
    out = []
    for symbol in symbols:
        rows = app.query(f"SELECT ts, close FROM candles WHERE symbol = '{symbol}' ORDER BY ts")
        stamps = np.array([t for t, _ in rows], dtype=np.int64)
        closes = np.array([c for _, c in rows])
        answers = dict(
            app.query(f"SELECT as_of, answer FROM predictions WHERE symbol = '{symbol}'")
        )
        scores = []
        for t in stamps:
            answer = answers.get(int(t))
            score = None if answer is None else answer_score(json.loads(answer))
            scores.append(math.nan if score is None else score)
        keep = stamps >= first
        sigma = trailing_sigma(closes, vol_window)
        out.append(
            Series(symbol, stamps[keep] // 1000, closes[keep], np.array(scores)[keep], sigma[keep])
        )
    return out


def report(args: argparse.Namespace, app: Any, settings: Any) -> int:
    """Print live against replayed; non-zero when any fill or equity differs."""
    from models.trading.metrics import book_summary
    from models.trading.replay import replay

    expected = replay(settings, HOUR_MS, stored_series(app, args.symbols, settings.vol_window))
    live: dict[str, list[tuple]] = {}
    same = True
    print(f"\nbooks: {', '.join(args.symbols)}, {args.bars} live bars after {args.history} of "
          f"history, state replica killed after bar {args.kill_at or 'none'}, costs "
          f"{settings.costs.round_trip_bps:g} bps round trip")  # fmt: skip
    print(f"{'bar (UTC)':<18}{'paper live':>12}{'paper replay':>14}{'shadow live':>13}"
          f"{'shadow replay':>15}{'buy-and-hold':>14}")  # fmt: skip
    for book in ("paper", "shadow"):
        live[book] = app.query(
            f"SELECT bar_ms, equity, benchmark FROM trading_equity WHERE book = '{book}' "
            "ORDER BY bar_ms"
        )
    replayed = {b: [(p.bar_ms, p.equity, p.benchmark) for p in expected.equity[b]] for b in live}
    n = len(live["shadow"])
    for i in [*range(0, n, args.every), n - 1] if n else []:
        stamp = datetime.fromtimestamp(live["shadow"][i][0] / 1000, tz=timezone.utc)
        cells = [live["paper"][i][1], replayed["paper"][i][1], live["shadow"][i][1]]
        cells += [replayed["shadow"][i][1], live["shadow"][i][2] or math.nan]
        print(f"{stamp:%Y-%m-%d %H:%M}  " + "".join(f"{v:>13.2f}" for v in cells))
    print(f"\n{'book':<8}{'fills live':>11}{'replayed':>10}{'identical':>11}{'net return':>12}"
          f"{'Sharpe':>8}{'max dd':>8}{'trades':>8}")  # fmt: skip
    for book in ("paper", "shadow"):
        stored = app.query(
            "SELECT bar_ms, symbol, action, quantity, price, fee FROM trading_fills "
            f"WHERE book = '{book}' ORDER BY seq"
        )
        mine = [(f.bar_ms, f.symbol, f.action, f.quantity, f.price, f.fee)
                for f in expected.fills if f.book == book]  # fmt: skip
        equal = stored == mine and live[book] == replayed[book]
        same = same and equal
        summary = book_summary(expected.equity[book], expected.book_fills(book),
                               settings.initial_cash, HOUR_MS)  # fmt: skip
        print(f"{book:<8}{len(stored):>11}{len(mine):>10}{'yes' if equal else 'NO':>11}"
              f"{summary['net_return']:>+12.2%}{summary['sharpe']:>8.2f}"
              f"{summary['max_drawdown']:>8.2%}{summary['trades']:>8}")  # fmt: skip
    return 0 if same else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    import ray

    from models.trading import TradingSettings
    from tests.feed.fake_exchange import FakeExchange
    from tests.feed.serve_feed import FeedApp

    settings = TradingSettings.from_yaml(args.trading) if args.trading else TradingSettings()
    frames = {
        s: load_ohlcv(default_data_dir() / f"{s}-1h.csv.gz").slice(0, args.start_row + args.bars)
        for s in args.symbols
    }
    lead = frames[args.symbols[0]]
    ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    start = _open_ms(lead, args.start_row) + 600_000
    with tempfile.TemporaryDirectory() as tmp, FakeExchange(frames, HOUR_MS, start) as exchange:
        feed = {
            "symbols": list(args.symbols),
            "base_url": exchange.url,
            "backfill_bars": args.history,
            "poll_delay_s": 0.0,
            "poll_max_s": 0.1,
            "request_timeout_s": 5.0,
            "backoff_base_s": 0.1,
            "backoff_max_s": 1.0,
        }
        app = FeedApp("book-bench", Path(tmp) / "state.db", feed, settings.model_dump())
        if args.registry:
            app.settings = app.settings.model_copy(update={"registry": args.registry})
        app.deploy()
        try:
            clock = time.monotonic()
            for i in range(args.bars):
                exchange.advance(1)
                wait_books(app, _open_ms(lead, args.start_row + i), args.timeout + 180 * (i == 0))
                if args.kill_at and i + 1 == args.kill_at:
                    app.kill("StateDeployment")
            print(f"{args.bars} bars followed in {time.monotonic() - clock:.0f} s", file=sys.stderr)
            return report(args, app, settings)
        finally:
            app.close()
            ray.shutdown()


if __name__ == "__main__":
    sys.exit(run_cli(main))
