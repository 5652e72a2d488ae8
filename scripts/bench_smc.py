"""Time the SMC analyzer and predictor on real candles: full history and live windows.

The speed targets (a 256-bar window in under ~10 ms, a symbol's ~24,000-bar history in under
~1 s, both on one core) live here rather than in timed tests, which would be flaky on shared
machines. Prints one row per symbol: the full-history analysis, a 256-bar analysis and one
``SmcPredictor.predict`` on a window of its default lookback (512 bars).

    python scripts/bench_smc.py [--data DIR] [--symbols BTCUSDT ETHUSDT] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from models.benchmark import median_ms, parse_market_args
from models.cli import run_cli
from models.data.loader import load_market_data
from models.predictors.smc_predictor import SmcPredictor
from models.smc import analyze_smc

LIVE_WINDOW = 256


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """``--data``, ``--symbols`` and ``--repeat`` (checked), as every per-symbol bench takes."""
    return parse_market_args(__doc__.splitlines()[0], argv)


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
