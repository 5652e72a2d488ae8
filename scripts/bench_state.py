"""The serving state's own costs: an append beside many pending predictions, and its size.

1. **Append with pending predictions**: ``--pending`` pending predictions of the symbol that
   are not due (their bars lie after the stored history, as predictions on a client's
   candles could be before they stopped being stored), then ``--appends`` one-bar appends,
   each followed by the check for due predictions (what every append and every start does).
   Median milliseconds per append + check.
2. **Size after many predictions**: ``--symbols`` symbols x ``--bars`` bars, each bar a
   stored candle and one prediction (with an answer of realistic size) that resolves 4 bars
   later, with the state's retention (``--retain``: candles and resolved predictions kept
   per symbol) and without it. Prints the file size (database + WAL) and the rows kept.

Real BTCUSDT candles (``../shared/data``) give prices; everything else is synthetic. The
same script runs against older code (it uses only ``StateStore`` calls every version has;
retention only where the store takes it), which is how docs/reliability.md compares.

    python scripts/bench_state.py [--pending 10000] [--appends 50] [--bars 10000] [--symbols 10]
"""

from __future__ import annotations

import argparse
import inspect
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a file: make the project importable
    sys.path.insert(0, str(ROOT))

import polars as pl  # noqa: E402

from models.benchmark import require_positive  # noqa: E402
from models.cli import UsageError, run_cli  # noqa: E402
from models.data.loader import load_ohlcv  # noqa: E402
from models.data.paths import default_data_dir  # noqa: E402
from models.store import StateStore, StoredPrediction  # noqa: E402

HORIZON = 4
ANSWER = {
    "signal": "HOLD",
    "probabilities": {"down": 0.3, "flat": 0.4, "up": 0.3},
    "models": {
        m: {"status": "ok", "probabilities": {"down": 0.3, "flat": 0.4, "up": 0.3},
            "confidence": 0.4, "weight": 0.1, "version": "v20261206T000000Z-abcdef12"}
        for m in ("transformer", "cnn_lstm", "lgbm", "indicators", "smc")
    },
    "experts": {e: {"probabilities": {"down": 0.3, "flat": 0.4, "up": 0.3}, "weight": 0.2}
                for e in ("transformer", "cnn_lstm", "lgbm", "indicators", "smc", "base_rate")},
    "reasons": ["no certified confidence level beats the round-trip cost"],
}  # fmt: skip
RECORD = {"symbol": "", "bar": 0, "probabilities": [0.3, 0.4, 0.3], "direction": 0,
          "flat_band": 0.004, "threshold": 1.0, "regime": "ranging",
          "members": {m: [0.3, 0.4, 0.3] for m in ANSWER["models"]}}  # fmt: skip


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=10_000, help="pending, not due")
    parser.add_argument("--appends", type=int, default=50, help="timed one-bar appends")
    parser.add_argument("--bars", type=int, default=10_000, help="bars per symbol (size)")
    parser.add_argument("--symbols", type=int, default=10, help="symbols (size)")
    parser.add_argument(
        "--retain", type=int, nargs="+", default=[20_000, 2_000], help="kept per symbol"
    )
    parser.add_argument("--data", type=Path, default=default_data_dir())
    args = parser.parse_args(argv)
    require_positive(args, "pending", "appends", "bars", "symbols")
    if min(args.retain) < 1:
        raise UsageError(f"--retain must be >= 1, got {min(args.retain)}")
    return args


def _store(path: Path, retain: int | None) -> StateStore:
    """A store with retention where this version of the code has it."""
    if "retain_predictions" in inspect.signature(StateStore).parameters:
        return StateStore(path, retain_bars=retain, retain_predictions=retain)
    return StateStore(path, retain_bars=retain)


def _prediction(pid: str, symbol: str, ts_us: int, close: float) -> StoredPrediction:
    return StoredPrediction(
        id=pid, symbol=symbol, as_of=ts_us, horizon_bars=HORIZON, entry_close=close,
        record={**RECORD, "symbol": symbol}, created_at=ts_us, answer=ANSWER,
    )  # fmt: skip


def append_cost(candles: pl.DataFrame, pending: int, appends: int) -> float:
    """Median ms of a one-bar append followed by the due check, beside ``pending``."""
    history = candles.head(2_000)
    later = candles.slice(2_000, appends + 1)
    step = 3_600_000_000
    with tempfile.TemporaryDirectory(prefix="bench_state_") as tmp:
        store = _store(Path(tmp) / "state.db", None)
        store.append_candles("BTCUSDT", history)
        future = int(later["timestamp"].dt.epoch("us")[-1]) + step
        items = [
            _prediction(f"{i:032x}", "BTCUSDT", future + i * step, 1.0) for i in range(pending)
        ]
        store.add_predictions(items)
        times = []
        for i in range(later.height):
            started = time.perf_counter()
            store.append_candles("BTCUSDT", later.slice(i, 1))
            store.due("BTCUSDT")
            times.append((time.perf_counter() - started) * 1000.0)
        store.close()
    return statistics.median(times[1:])


def state_size(candles: pl.DataFrame, symbols: int, bars: int, retain: int | None) -> dict:
    """File size and rows after ``symbols`` x ``bars`` predictions resolved as the service
    does (a batch of 100 bars per transaction keeps the run short)."""
    frame = candles.tail(bars) if candles.height >= bars else candles
    stamps = frame["timestamp"].dt.epoch("us").to_list()
    closes = frame["close"].to_list()
    with tempfile.TemporaryDirectory(prefix="bench_state_") as tmp:
        path = Path(tmp) / "state.db"
        store = _store(path, retain)
        for s in range(symbols):
            symbol = f"SYM{s:02d}USDT"
            for start in range(0, frame.height, 100):
                chunk = frame.slice(start, 100)
                store.append_candles(symbol, chunk)
                store.add_predictions(
                    [_prediction(f"{s:04d}{start + i:028x}", symbol, stamps[start + i],
                                 closes[start + i]) for i in range(chunk.height)]
                )  # fmt: skip
                due = store.due(symbol)
                store.resolve([(p.id, r) for p, r in due])
        store.close()  # checkpoints the WAL into the file
        size = sum(p.stat().st_size for p in Path(tmp).glob("state.db*"))
        store = _store(path, retain)
        kept = [store.prediction_counts(f"SYM{s:02d}USDT") for s in range(symbols)]
        rows = {
            "candles": sum(store.symbols().values()),
            "predictions": sum(c["pending"] + c["resolved"] for c in kept),
        }
        store.close()
    return {"bytes": size, **rows}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    candles = load_ohlcv(args.data / "BTCUSDT-1h.csv.gz")
    ms = append_cost(candles, args.pending, args.appends)
    print(f"append + due check, {args.pending:,} pending not due: {ms:.2f} ms (median of "
          f"{args.appends})")  # fmt: skip
    total = args.symbols * min(args.bars, candles.height)
    print(f"\n{total:,} predictions ({args.symbols} symbols x {min(args.bars, candles.height):,} "
          "bars), each resolved 4 bars later:")  # fmt: skip
    print("| retention | file MB | candles kept | predictions kept |")
    print("|---|---:|---:|---:|")
    for retain in (*args.retain, None):
        got = state_size(candles, args.symbols, args.bars, retain)
        label = f"{retain:,} per symbol" if retain is not None else "none"
        print(f"| {label} | {got['bytes'] / 1e6:.1f} | {got['candles']:,} | "
              f"{got['predictions']:,} |", flush=True)  # fmt: skip
    print(json.dumps({"append_ms": round(ms, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
