"""Time the regime detector on real candles: full history per symbol and one live window.

The speed targets (the whole history of a symbol well under a second; a 256-bar window in a
few milliseconds, which is what the live service asks per request) live here rather than in
timed tests, which would be flaky on shared machines. Prints one row per symbol.

    python scripts/bench_regime.py [--data DIR] [--symbols BTCUSDT ETHUSDT] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from models.benchmark import median_ms, parse_market_args
from models.cli import run_cli
from models.data.loader import load_market_data
from models.regime.detector import RegimeDetector, detect_regimes

LIVE_WINDOW = 256


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """``--data``, ``--symbols`` and ``--repeat`` (checked), as every per-symbol bench takes."""
    return parse_market_args(__doc__.splitlines()[0], argv)


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
