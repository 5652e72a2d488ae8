"""Time compute_indicators against TA-Lib computing the same columns on the same arrays.

Real candles of one symbol are extended to ``--bars`` rows by repeating the history, each
copy rescaled so that it opens at the previous copy's last close (returns and ranges stay
real, prices stay continuous) under continuous hourly timestamps. The target is the whole
set on 1,000,000 bars in under a second; it lives here, not in a timed test. Prints the
total (best of ``--repeat`` runs) and a per-indicator breakdown.

    python scripts/bench_indicators.py [--bars 1000000] [--symbol BTCUSDT] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import numpy as np
import polars as pl

from models.benchmark import best_ms, require_positive
from models.cli import run_cli
from models.data.loader import load_ohlcv
from models.data.paths import default_data_dir
from models.data.validation import PRICE_COLUMNS, VALUE_COLUMNS
from models.features import indicators as ind

Arrays = dict[str, np.ndarray]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="candle directory")
    parser.add_argument("--symbol", default="BTCUSDT", help="whose candles to extend")
    parser.add_argument("--bars", type=int, default=1_000_000, help="rows to time on")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (best)")
    args = parser.parse_args(argv)
    require_positive(args, "bars", "repeat")
    return args


def extend_candles(frame: pl.DataFrame, bars: int) -> pl.DataFrame:
    """``bars`` rows: ``frame`` repeated, each copy rescaled to start at the last close."""
    base = {c: frame[c].to_numpy() for c in VALUE_COLUMNS}
    copies = -(-bars // frame.height)
    # Copy i is scaled by (last close / first open)^i so that it continues the previous one.
    step = base["close"][-1] / base["open"][0]
    scale = np.repeat(step ** np.arange(copies, dtype=float), frame.height)[:bars]
    cols = {c: np.tile(base[c], copies)[:bars] * scale for c in PRICE_COLUMNS}
    cols["volume"] = np.tile(base["volume"], copies)[:bars]
    start = frame["timestamp"][0]
    stamps = pl.datetime_range(
        start, start + pl.duration(hours=bars - 1), "1h", eager=True, time_unit="us"
    )
    return pl.DataFrame({"timestamp": stamps, **cols})


def cases(a: Arrays, t: ModuleType | None) -> list[tuple[str, Callable, Callable]]:
    """(name, ours, TA-Lib's) for every indicator family in compute_indicators.

    TA-Lib's callables are only called when ``t`` (the talib module) is not None.
    """
    h, lo, c, v = a["high"], a["low"], a["close"], a["volume"]
    lr = np.concatenate([[np.nan], np.log(c[1:] / c[:-1])])
    return [
        ("sma_20", lambda: ind.sma(c, 20), lambda: t.SMA(c, 20)),
        (
            "ema_12+26",
            lambda: (ind.ema(c, 12), ind.ema(c, 26)),
            lambda: (t.EMA(c, 12), t.EMA(c, 26)),
        ),
        ("rsi_14", lambda: ind.rsi(c, 14), lambda: t.RSI(c, 14)),
        ("macd", lambda: ind.macd(c), lambda: t.MACD(c, 12, 26, 9)),
        ("bollinger", lambda: ind.bollinger(c), lambda: t.BBANDS(c, 20, 2.0, 2.0, 0)),
        ("atr_14", lambda: ind.atr(h, lo, c), lambda: t.ATR(h, lo, c, 14)),
        (
            "dmi (+DI,-DI,ADX)",
            lambda: ind.dmi(h, lo, c),
            lambda: (t.PLUS_DI(h, lo, c, 14), t.MINUS_DI(h, lo, c, 14), t.ADX(h, lo, c, 14)),
        ),
        ("stochastic", lambda: ind.stochastic(h, lo, c), lambda: t.STOCH(h, lo, c, 14, 3, 0, 3, 0)),
        ("obv", lambda: ind.obv(c, v), lambda: t.OBV(c, v)),
        ("volatility_20", lambda: ind.rolling_std(lr, 20), lambda: t.STDDEV(lr, 20, 1.0)),
    ]


def talib_all(a: Arrays, talib: ModuleType) -> None:
    """TA-Lib computing the column set of compute_indicators (returns with numpy)."""
    h, lo, c, v = a["high"], a["low"], a["close"], a["volume"]
    talib.SMA(c, 20), talib.EMA(c, 12), talib.EMA(c, 26), talib.RSI(c, 14)
    talib.MACD(c, 12, 26, 9), talib.BBANDS(c, 20, 2.0, 2.0, 0), talib.ATR(h, lo, c, 14)
    talib.ADX(h, lo, c, 14), talib.PLUS_DI(h, lo, c, 14), talib.MINUS_DI(h, lo, c, 14)
    talib.STOCH(h, lo, c, 14, 3, 0, 3, 0), talib.OBV(c, v)
    ratio = talib.ROCR(c, 1)
    talib.STDDEV(np.log(ratio), 20, 1.0), ratio - 1.0


def _fmt(ms: float | None) -> str:
    return "-" if ms is None else f"{ms:.1f}"


def _ratio(ours: float, theirs: float | None) -> str:
    return "-" if theirs is None else f"{ours / theirs:.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import talib
    except ImportError:
        talib = None
        print("TA-Lib is not installed (pip install -e '.[dev]'): timing ours only")
    path = args.data / f"{args.symbol}-1h.csv.gz"
    frame = extend_candles(load_ohlcv(path), args.bars)
    arrays = {k: frame[k].to_numpy() for k in ("high", "low", "close", "volume")}
    ours = best_ms(lambda: ind.compute_indicators(frame), args.repeat)
    theirs = talib and best_ms(lambda: talib_all(arrays, talib), args.repeat)
    print(f"{'bars':>9} {'ours ms':>9} {'TA-Lib ms':>10} {'ratio':>6}")
    print(f"{frame.height:>9} {ours:>9.1f} {_fmt(theirs):>10} {_ratio(ours, theirs):>6}")
    print()
    print(f"{'indicator':<18} {'ours ms':>9} {'TA-Lib ms':>10} {'ratio':>6}")
    for name, mine, ref in cases(arrays, talib):
        a = best_ms(mine, args.repeat)
        b = best_ms(ref, args.repeat) if talib is not None else None
        print(f"{name:<18} {a:>9.1f} {_fmt(b):>10} {_ratio(a, b):>6}")
    print("(ours includes building the polars frame of all 20 columns; TA-Lib is arrays only)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
