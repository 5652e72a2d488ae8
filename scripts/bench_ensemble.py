"""Time one bar of the ensemble: combine (a signal) and record_outcome (learning it).

Synthetic member vectors (the cost does not depend on their values), four members, one
symbol, outcomes learned 4 bars late as in the live loop; the learned default against the
``original`` preset, and the learned state's JSON size (what the state deployment writes
after every outcome and serving replicas fetch). Prints microseconds per call (median over
``--repeat`` runs of ``--bars`` bars).

    python scripts/bench_ensemble.py [--bars 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence

import numpy as np

from models.benchmark import require_positive
from models.cli import run_cli
from models.ensemble import Ensemble, EnsembleConfig
from models.predictors.base import Prediction

MEMBERS = ("transformer", "cnn_lstm", "indicators", "smc")
H = 4


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=2000, help="bars per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per preset (median)")
    args = parser.parse_args(argv)
    require_positive(args, "bars", "repeat")
    return args


def _inputs(bars: int, seed: int) -> list[dict[str, Prediction]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(bars):
        out.append(
            {
                m: Prediction(m, tuple(float(p) for p in rng.dirichlet([3, 3, 3])), 0.5)
                for m in MEMBERS
            }
        )
    return out


def run_once(config: EnsembleConfig, bars: int, seed: int) -> tuple[float, float, int]:
    """(combine us, record_outcome us, state JSON bytes) over ``bars`` bars."""
    ensemble = Ensemble(config)
    inputs = _inputs(bars, seed)
    rng = np.random.default_rng(seed + 1)
    returns = rng.normal(0.0, 0.01, bars)
    combine_s = learn_s = 0.0
    pending = []
    for bar, preds in enumerate(inputs):
        if bar >= H:
            record, ret = pending[bar - H]
            start = time.perf_counter()
            ensemble.record_outcome(record, ret)
            learn_s += time.perf_counter() - start
        start = time.perf_counter()
        signal = ensemble.combine("BTCUSDT", preds, None, bar)
        combine_s += time.perf_counter() - start
        pending.append((signal.to_record(0.004), float(returns[bar])))
    size = len(json.dumps(ensemble.state_dict()))
    return 1e6 * combine_s / bars, 1e6 * learn_s / max(bars - H, 1), size


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"{'preset':<10} {'combine us':>11} {'learn us':>9} {'state bytes':>12}")
    for name in ("learned", "original"):
        config = EnsembleConfig.preset(name)
        runs = [run_once(config, args.bars, seed) for seed in range(args.repeat)]
        combine = statistics.median(r[0] for r in runs)
        learn = statistics.median(r[1] for r in runs)
        print(f"{name:<10} {combine:>11.1f} {learn:>9.1f} {runs[-1][2]:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
