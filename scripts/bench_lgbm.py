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

``--parts`` then prints where a cold window's time goes: each part of the symbol's own
features (:mod:`models.predictors.tree_features`) and the leader's block, per window, on the
largest batch's windows.

    python scripts/bench_lgbm.py --registry registry-2022 [--symbol ETHUSDT] [--batches 1 32]
        [--parts]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from models.benchmark import best_ms, require_positive  # noqa: E402
from models.cli import run_cli  # noqa: E402
from models.data.loader import load_market_data  # noqa: E402
from models.data.paths import default_data_dir  # noqa: E402
from models.features.feature_cache import FeatureKey  # noqa: E402
from models.features.htf_features import epoch_micros, htf_feature_arrays  # noqa: E402
from models.features.indicators import indicator_arrays  # noqa: E402
from models.features.model_features import model_feature_arrays  # noqa: E402
from models.predictors.leader import attach_leader  # noqa: E402
from models.predictors.lgbm import NEWEST_ROWS, LgbmPredictor  # noqa: E402
from models.predictors.tree_features import (  # noqa: E402
    leader_feature_block,
    own_feature_block,
)
from models.regime.detector import regime_arrays  # noqa: E402
from models.smc.analyzer import analyze_smc_arrays  # noqa: E402
from models.smc.config import SmcConfig  # noqa: E402
from models.smc.fair_value_gaps import detect_fair_value_gaps  # noqa: E402
from models.smc.inputs import Candles, candles_from_frame, volatility_scale  # noqa: E402
from models.smc.liquidity import detect_liquidity  # noqa: E402
from models.smc.order_blocks import detect_order_blocks  # noqa: E402
from models.smc.structure import detect_structure  # noqa: E402
from models.smc.swings import detect_swings  # noqa: E402


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
    p.add_argument("--parts", action="store_true", help="also time each part of the features")
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
    if args.parts:
        _print_parts(windows, frames[predictor.leader], args.repeat, clock)
    return 0


def _run_part(part: Callable[[_Window], object], prepared: list[_Window]) -> None:
    for w in prepared:
        part(w)


class _Window:
    """One window and what several parts read, computed once outside the timed calls."""

    def __init__(self, window: pl.DataFrame, leader: pl.DataFrame) -> None:
        self.frame, self.leader = window, leader
        self.indicators = indicator_arrays(window)
        self.candles: Candles = candles_from_frame(window)
        self.scale = volatility_scale(window, self.candles, 14, self.indicators["atr_14"])
        self.swings = detect_swings(self.candles, SmcConfig().swing_length)
        self.structure = detect_structure(self.candles, self.swings)
        self.micros = epoch_micros(window)


_SMC = SmcConfig()
_PARTS: dict[str, Callable[[_Window], object]] = {
    "own features (all)": lambda w: own_feature_block(w.frame),
    "  indicators": lambda w: indicator_arrays(w.frame),
    "  model features": lambda w: model_feature_arrays(w.frame, w.indicators),
    "  SMC (all)": lambda w: analyze_smc_arrays(w.frame, _SMC, atr=w.indicators["atr_14"]),
    "    swings": lambda w: detect_swings(w.candles, _SMC.swing_length),
    "    structure": lambda w: detect_structure(w.candles, w.swings),
    "    liquidity": lambda w: detect_liquidity(w.candles, w.swings, w.scale, _SMC),
    "    order blocks": lambda w: detect_order_blocks(w.candles, w.structure, _SMC),
    "    fair value gaps": lambda w: detect_fair_value_gaps(w.candles, w.scale, _SMC),
    "  regime": lambda w: regime_arrays(w.frame, indicators=w.indicators),
    "  4h / 1d bars": lambda w: htf_feature_arrays(
        w.micros, w.candles.high, w.candles.low, w.candles.close
    ),
    "leader features (all)": lambda w: leader_feature_block(w.leader),
}
"""What ``--parts`` times: the own block, its parts (indented), the leader's block."""


def _print_parts(
    windows: list[pl.DataFrame], leader: pl.DataFrame, repeat: int, clock: Callable[[], float]
) -> None:
    """Best-of-``repeat`` cost per window of each of :data:`_PARTS` on ``windows``."""
    stamps = leader["timestamp"]
    prepared = []
    for w in windows:
        first, last = w["timestamp"][0], w["timestamp"][-1]
        lead = leader.filter((stamps >= first) & (stamps <= last))
        prepared.append(_Window(w, lead))
    print(f"\n{'part':<24}  {'ms per window':>13}  ({len(prepared)} windows)")
    for name, part in _PARTS.items():
        ms = best_ms(partial(_run_part, part, prepared), repeat, clock=clock)
        print(f"{name:<24}  {ms / len(prepared):>13.2f}")


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
