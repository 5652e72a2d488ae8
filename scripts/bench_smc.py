"""Time the SMC analyzer and predictor on real candles: full history and live windows.

The speed targets (a 256-bar window in under ~10 ms, a symbol's ~24,000-bar history in under
~1 s, both on one core) live here rather than in timed tests, which would be flaky on shared
machines. Prints one row per symbol: the full-history analysis, a 256-bar analysis and one
``SmcPredictor.predict`` on a window of its default lookback (512 bars).

    python scripts/bench_smc.py [--data DIR] [--symbols BTCUSDT ETHUSDT] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from models.cli import UsageError, run_cli
from models.data.loader import load_market_data
from models.data.paths import default_data_dir
from models.predictors.smc_predictor import SmcPredictor
from models.smc import analyze_smc

LIVE_WINDOW = 256


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="candle directory")
    parser.add_argument("--symbols", nargs="*", default=None, help="default: every file there")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (median)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        raise UsageError(f"--repeat must be >= 1, got {args.repeat}")
    return args


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` in milliseconds, after one untimed warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    frames = load_market_data(args.data, symbols=args.symbols)
    predictor = SmcPredictor()
    header = ("symbol", "bars", "full ms", "us/bar", f"{LIVE_WINDOW}-bar ms", "predict ms")
    print(
        f"{header[0]:<10} {header[1]:>7} {header[2]:>9} {header[3]:>7} {header[4]:>11} "
        f"{header[5]:>11}"
    )
    for symbol, frame in sorted(frames.items()):
        full = median_ms(lambda f=frame: analyze_smc(f), args.repeat)
        window = frame.tail(LIVE_WINDOW)
        live = median_ms(lambda w=window: analyze_smc(w), args.repeat * 20)
        lookback = frame.tail(predictor.lookback)
        pred = median_ms(lambda w=lookback: predictor.predict(w), args.repeat * 20)
        per_bar = 1000.0 * full / frame.height
        print(
            f"{symbol:<10} {frame.height:>7} {full:>9.1f} {per_bar:>7.2f} {live:>11.2f} "
            f"{pred:>11.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
