"""Inference cost of the lgbm predictor per window, at batch sizes 1 and 32 (and more).

Loads the latest ``lgbm`` model of ``--symbol`` from ``--registry``, cuts real hourly windows
of the predictor's ``min_bars`` with the leader's candles attached (as serving would pass
them), and prints, per batch size, the best of ``--repeat`` latencies of ``predict_batch``
end to end (features from raw candles + the booster) and of the booster alone, per call and
per window. Best-of, because the numbers should show the code, not the other processes on a
shared machine. One OpenMP thread unless ``--threads``.

``predict_batch`` reads the newest bar's features from a process-wide cache
(:mod:`models.features.feature_cache`), so three cases are timed: ``cold`` (the cache emptied
before every run: the symbol's and the leader's features computed), ``leader cached`` (the
leader's row already there, as for every symbol but the first at a live bar) and ``cached``
(a repeated request for the same window).

    python scripts/bench_lgbm.py --registry registry-2022 [--symbol ETHUSDT] [--batches 1 32]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from models.benchmark import best_ms, require_positive  # noqa: E402
from models.cli import run_cli  # noqa: E402
from models.data.loader import load_market_data  # noqa: E402
from models.data.paths import default_data_dir  # noqa: E402
from models.features.feature_cache import FeatureKey  # noqa: E402
from models.predictors.leader import attach_leader  # noqa: E402
from models.predictors.lgbm import NEWEST_ROWS, LgbmPredictor  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--registry", required=True, help="model registry with an lgbm model")
    p.add_argument("--data", type=Path, default=None, help="candle directory")
    p.add_argument("--symbol", default="ETHUSDT")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="LightGBM OpenMP threads")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="cpu: this process's CPU time (a busy shared machine)")  # fmt: skip
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    require_positive(args, "repeat", "threads")
    data = args.data or default_data_dir()
    predictor = LgbmPredictor.from_registry(args.registry, args.symbol, num_threads=args.threads)
    frames = load_market_data(data, symbols=sorted({args.symbol, predictor.leader}))
    frame = attach_leader(frames[args.symbol], frames[predictor.leader]).tail(20_000)
    bars = predictor.min_bars
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    print(f"lgbm {predictor.version} ({predictor.variant}) of {args.symbol}: windows of {bars} "
          f"bars, {args.threads} thread(s), best of {args.repeat}, {args.clock} time")  # fmt: skip
    print(
        f"{'batch':>5}  {'cold ms':>8}  {'per window':>10}  {'leader cached':>13}  "
        f"{'per window':>10}  {'cached':>7}  {'booster ms':>10}"
    )
    for batch in args.batches:
        if batch < 1:
            raise SystemExit(f"error: --batches: must be >= 1, got {batch}")
        ends = np.linspace(bars, frame.height - 1, batch).astype(int)
        windows = [frame.slice(int(e) + 1 - bars, bars) for e in ends]
        cold = best_ms(lambda w=windows: _cold(predictor, w), args.repeat, clock=clock)
        predictor.predict_batch(windows)
        leaders = {k: v for k, v in NEWEST_ROWS.items() if k.part == "leader"}
        lead = best_ms(
            lambda w=windows, r=leaders: _only(predictor, w, r), args.repeat, None, clock
        )
        cached = best_ms(lambda w=windows: predictor.predict_batch(w), args.repeat, clock=clock)
        X = np.stack([predictor.features(w)[-1] for w in windows])
        booster = best_ms(lambda x=X: predictor.predict_proba(x), args.repeat, clock=clock)
        print(
            f"{batch:>5}  {cold:>8.2f}  {cold / batch:>10.2f}  {lead:>13.2f}  "
            f"{lead / batch:>10.2f}  {cached:>7.2f}  {booster:>10.3f}"
        )
    return 0


def _cold(predictor: LgbmPredictor, windows: list) -> object:
    NEWEST_ROWS.clear()
    return predictor.predict_batch(windows)


def _only(predictor: LgbmPredictor, windows: list, rows: dict[FeatureKey, np.ndarray]) -> object:
    """``predict_batch`` with only ``rows`` in the cache (restoring them is not timed apart:
    it is a few dictionary inserts)."""
    NEWEST_ROWS.clear()
    for key, row in rows.items():
        NEWEST_ROWS.put(key, row)
    return predictor.predict_batch(windows)


if __name__ == "__main__":
    sys.exit(run_cli(main))
