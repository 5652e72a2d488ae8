"""Time a full-year walk-forward evaluation (the 20-minute target for 10 symbols).

The registry's real models are trained on recent data, so they leave less than a year to
evaluate. To time the worst case this trains a tiny network of each kind per symbol on two
months that end before the last year (one short epoch each: the point is inference cost,
not skill) into a temporary registry, evaluates the whole last year with every predictor,
variant and baseline, writes the report to a temporary folder and prints a table of times.

    python scripts/bench_evaluate.py                  # all symbols
    python scripts/bench_evaluate.py --symbols BTCUSDT ETHUSDT --jobs 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from models.benchmark import require_positive
from models.cli import run_cli
from models.data.paths import default_data_dir

TRAIN_START, TRAIN_END = "2022-09-01", "2022-11-01"
TINY = {
    "cnn_lstm": {"channels": 8, "hidden": 8, "lstm_layers": 1, "conv_layers": 1},
    "transformer": {"d_model": 16, "nhead": 4, "num_layers": 1},
}


def train_tiny(registry: Path, data: Path, symbols: Sequence[str]) -> None:
    """One tiny network of each kind per symbol, trained before the evaluated year."""
    from models.data.loader import load_market_data
    from models.registry import ModelRegistry
    from models.training.artifacts import publish_result
    from models.training.dataset import prepare_symbol_data
    from models.training.loop import TrainConfig, train_model

    reg = ModelRegistry(registry)
    frames = load_market_data(data, symbols=list(symbols))
    for symbol in symbols:
        prepared = prepare_symbol_data(frames[symbol], seq_len=32, start=TRAIN_START, end=TRAIN_END)
        for model, hparams in TINY.items():
            cfg = TrainConfig(
                model=model, hparams=hparams, max_epochs=1, max_batches_per_epoch=2, device="cpu"
            )
            publish_result(reg, symbol, cfg, prepared, train_model(cfg, prepared))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir())
    parser.add_argument("--symbols", nargs="+")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    require_positive(args, "jobs")
    from models.evaluation.report import write_report
    from models.evaluation.run import available_symbols, run_evaluation
    from models.evaluation.settings import EvaluationConfig

    symbols = args.symbols or available_symbols(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        train_tiny(Path(tmp) / "registry", args.data, symbols)
        trained = time.perf_counter() - started
        config = EvaluationConfig(
            data=args.data, registry=Path(tmp) / "registry", symbols=tuple(symbols), jobs=args.jobs
        )
        started = time.perf_counter()
        evaluation = run_evaluation(config)
        write_report(evaluation, Path(tmp) / "report", "bench")
        total = time.perf_counter() - started
    bars = sum(len(r.outcomes) for r in evaluation.results)
    rows = [
        ("symbols", f"{len(symbols)}"),
        ("bars evaluated", f"{bars}"),
        ("jobs (processes)", f"{args.jobs}"),
        ("tiny training (not timed below)", f"{trained:.0f} s"),
        ("predict + replay, wall", f"{evaluation.seconds['symbols']:.0f} s"),
        ("  of which predictions, summed", _summed(evaluation, "predict")),
        ("  of which ensemble replays, summed", _summed(evaluation, "replay")),
        ("scoring + null draws", f"{evaluation.seconds['scoring']:.0f} s"),
        ("evaluation total incl. report", f"{total:.0f} s (target: 1200 s)"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    return 0


def _summed(evaluation, stage: str) -> str:
    return f"{sum(r.seconds.get(stage, 0.0) for r in evaluation.results):.0f} s"


if __name__ == "__main__":
    sys.exit(run_cli(main))
