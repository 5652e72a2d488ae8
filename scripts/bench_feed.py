"""The live feed end to end: the real app on a local Ray following a fake exchange that
replays real hourly candles fast, with a feed-replica kill in the middle.

The fake exchange (tests/feed/fake_exchange.py, 127.0.0.1 only) first serves ``--history``
bars of history, then its clock runs so that one hourly bar closes every ``--bar-period``
seconds for ``--bars`` bars. Prints bars followed per second, the delay from each bar's
close at the exchange to its stored signal (the prediction's ``created_at``, committed in
the same ensemble batch), and what the state holds afterwards against what it must hold:
as many new candles and predictions as bars, ``bars - horizon`` resolved, no duplicate,
no hole.

    PYTHONPATH=$PWD python scripts/bench_feed.py [--bars 24] [--bar-period 0.2] [--kill-at 12]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from models.benchmark import require_positive
from models.cli import UsageError, run_cli
from models.data.loader import load_ohlcv
from models.data.paths import default_data_dir

HOUR_MS = 3_600_000
HORIZON = 4


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbol", default="BTCUSDT")
    parser.add_argument("--bars", type=int, default=24, help="bars replayed (24: a day)")
    parser.add_argument("--bar-period", type=float, default=0.2, help="seconds per bar")
    parser.add_argument("--history", type=int, default=600, help="bars backfilled first")
    parser.add_argument("--start-row", type=int, default=20_000, help="first replayed row")
    parser.add_argument("--kill-at", type=int, default=12, help="kill after this bar (0: no)")
    parser.add_argument("--num-cpus", type=int, default=2)
    parser.add_argument("--verbose", action="store_true", help="print every bar's delay")
    parser.add_argument("--timeout", type=float, default=300.0, help="bound on the replay")
    args = parser.parse_args(argv)
    require_positive(args, "bars", "history", "num_cpus", "timeout")
    if not 0 < args.bar_period <= 60:
        raise UsageError(f"--bar-period must be in (0, 60] seconds, got {args.bar_period}")
    if not 0 <= args.kill_at < args.bars:
        raise UsageError(f"--kill-at must be in [0, --bars), got {args.kill_at}")
    return args


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _ms(frame, row: int) -> int:
    return int(frame["timestamp"][row].timestamp() * 1000)


def replay(args: argparse.Namespace, app, exchange, frame) -> dict:
    """Run the clock, kill the feed replica after ``--kill-at`` bars, wait for the end."""
    first, last = _ms(frame, args.start_row), _ms(frame, args.start_row + args.bars - 1)
    symbol, killed_at = args.symbol, None
    exchange.set_speed(HOUR_MS / 1000 / args.bar_period)
    started = time.monotonic()
    kill_bar = _ms(frame, args.start_row + args.kill_at - 1) if args.kill_at else None
    deadline = started + args.timeout
    while time.monotonic() < deadline:
        st = app.feed()["symbols"][symbol]
        stored = st["last_bar"] and _iso_ms(st["last_bar"])
        if kill_bar is not None and killed_at is None and stored and stored >= kill_bar:
            app.kill()
            killed_at = time.time()
        signalled = st["last_signal"] and _iso_ms(st["last_signal"]) == last
        if signalled and (kill_bar is None or killed_at is not None):
            break
        time.sleep(0.02)
    else:
        raise TimeoutError(f"the replay did not finish in {args.timeout} s")
    return {"first": first, "last": last, "killed_at": killed_at, "kill_bar": kill_bar}


def _iso_ms(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def recovery(rows: list[tuple], closes: dict[int, float], killed_at: float) -> dict[str, float]:
    """Seconds from the kill to the first signal of the restarted replica (the one after
    the longest pause), and how fast the bars that piled up meanwhile were then followed
    (the feed's rate when arrivals do not limit it). A signal in flight at the kill still
    lands (the ensemble stores it), so the first one after the kill is not the restart."""
    made = sorted(r[1] / 1e6 for r in rows if r[1] / 1e6 > killed_at)
    if len(made) < 2:
        return {}
    times = [killed_at, *made]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    resumed = times[gaps.index(max(gaps)) + 1]
    backlog = sorted(
        r[1] / 1e6 for r in rows if r[1] / 1e6 >= resumed and closes[r[0] // 1000] < resumed
    )
    out = {"kill -> restarted feed's first signal (s)": resumed - killed_at}
    if len(backlog) > 1:
        rate = (len(backlog) - 1) / (backlog[-1] - backlog[0])
        out[f"catch-up of {len(backlog)} piled-up bars (bars/s)"] = rate
    return out


def report(args: argparse.Namespace, app, exchange, frame, run: dict) -> int:
    """Print the table; non-zero exit when what is stored is not what must be."""
    offset = time.time() - time.monotonic()
    rows = app.query("SELECT as_of, created_at, resolved_at FROM predictions ORDER BY as_of")
    closes = {r[0] // 1000: exchange.close_wall_time(r[0] // 1000) + offset for r in rows}
    delays = [(r[1] / 1e6 - closes[r[0] // 1000]) * 1000 for r in rows]
    span = rows[-1][1] / 1e6 - closes[rows[0][0] // 1000] if rows else float("nan")
    new = app.query(f"SELECT COUNT(*) FROM candles WHERE ts >= {run['first'] * 1000}")[0][0]
    total = app.query("SELECT COUNT(*), COUNT(DISTINCT ts) FROM candles")[0]
    stamps = [t // 1000 for (t,) in app.query("SELECT ts FROM candles ORDER BY ts")]
    real = [_ms(frame, i) for i in range(args.start_row - args.history, args.start_row + args.bars)]
    resolved = sum(r[2] is not None for r in rows)
    as_of = [r[0] // 1000 for r in rows]
    print(
        f"\nfeed replay: {args.symbol}, {args.bars} bars, one every {args.bar_period} s, "
        f"{args.history} bars of history, feed replica killed after bar {args.kill_at}"
    )
    print(f"{'metric':<44} {'value':>10}")
    print(f"{'bars followed per second':<44} {len(rows) / span:>10.2f}")
    print(f"{'bar close -> stored signal p50 (ms)':<44} {percentile(delays, 50):>10.1f}")
    print(f"{'bar close -> stored signal p99 (ms)':<44} {percentile(delays, 99):>10.1f}")
    print(f"{'bar close -> stored signal max (ms)':<44} {max(delays):>10.1f}")
    if run["killed_at"]:
        before = [d for r, d in zip(rows, delays, strict=True) if r[0] // 1000 <= run["kill_bar"]]
        if before:
            label = "  bars before the kill: p50 / p99 (ms)"
            print(f"{label:<44} {percentile(before, 50):>4.0f} / {percentile(before, 99):.0f}")
    if args.verbose:
        for r, d in zip(rows, delays, strict=True):
            print(f"  bar {r[0] // 1000}: close -> stored signal {d:9.1f} ms")
    if run["killed_at"]:
        for name, value in recovery(rows, closes, run["killed_at"]).items():
            print(f"{name:<44} {value:>10.2f}")
    checks = {
        "new candles stored": (new, args.bars),
        "predictions stored": (len(rows), args.bars),
        "distinct prediction bars": (len(set(as_of)), args.bars),
        "resolved outcomes": (resolved, args.bars - HORIZON),
        "candles total / distinct": (total[1], total[0]),
        "stored bars == exchange bars (no hole, no dup)": (int(stamps == real), 1),
    }
    print(f"\n{'check':<48} {'stored':>7} {'expected':>9} {'ok':>4}")
    for name, (got, want) in checks.items():
        print(f"{name:<48} {got:>7} {want:>9} {'yes' if got == want else 'NO':>4}")
    return 0 if all(g == w for g, w in checks.values()) else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    import ray

    from tests.feed.fake_exchange import FakeExchange
    from tests.feed.serve_feed import FeedApp

    path = default_data_dir() / f"{args.symbol}-1h.csv.gz"
    frame = load_ohlcv(path).slice(0, args.start_row + args.bars)
    ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    start = _ms(frame, args.start_row) + 600_000
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeExchange({args.symbol: frame}, HOUR_MS, start) as exchange,
    ):
        feed = {
            "symbols": [args.symbol],
            "base_url": exchange.url,
            "backfill_bars": args.history,
            "poll_delay_s": 0.0,
            "poll_max_s": args.bar_period / 4,
            "request_timeout_s": 2.0,
            "backoff_base_s": 0.1,
            "backoff_max_s": 1.0,
        }
        app = FeedApp("feed-bench", Path(tmp) / "state.db", feed)
        app.deploy()
        before = _ms(frame, args.start_row - 1)
        app.wait(lambda b: _last(b, args.symbol) == before, 180, "backfill")
        try:
            run = replay(args, app, exchange, frame)
            time.sleep(0.5)  # the last resolutions commit with the last append
            return report(args, app, exchange, frame, run)
        finally:
            app.close()
            ray.shutdown()


def _last(body: dict, symbol: str) -> int | None:
    st = body["symbols"].get(symbol, {})
    return _iso_ms(st["last_bar"]) if st.get("last_bar") and st["state"] == "following" else None


if __name__ == "__main__":
    sys.exit(run_cli(main))
