"""Time the regime detector on real candles: full history per symbol and one live window.

The speed targets (the whole history of a symbol well under a second; a 256-bar window in a
few milliseconds, which is what the live service asks per request) live here rather than in
timed tests, which would be flaky on shared machines. Prints one row per symbol.

    python scripts/bench_regime.py [--data DIR] [--symbols BTCUSDT ETHUSDT] [--repeat 5]
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
from models.regime.detector import RegimeDetector, detect_regimes

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
    detector = RegimeDetector()
    print(f"{'symbol':<10} {'bars':>7} {'full ms':>9} {'us/bar':>7} {'window ms':>10}")
    for symbol, frame in sorted(frames.items()):
        full = median_ms(lambda f=frame: detect_regimes(f), args.repeat)
        window = frame.tail(LIVE_WINDOW)
        live = median_ms(lambda w=window: detector.current(w), args.repeat * 20)
        per_bar = 1000.0 * full / frame.height
        print(f"{symbol:<10} {frame.height:>7} {full:>9.1f} {per_bar:>7.2f} {live:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
