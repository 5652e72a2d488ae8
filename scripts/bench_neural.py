"""Training throughput and inference latency of both neural predictors at default sizes.

For each device (CPU, and CUDA when present) and model: training samples per second over
``--steps`` optimizer steps of ``--batch-size`` real BTC windows (after one warm-up step),
then, at batch sizes 1, 8, 32 and 128, the best of ``--repeat`` latencies of the network's
forward pass alone and of ``predict_batch`` end to end (features from raw candles + scaling +
one forward pass). Best-of, because the numbers should show the code, not the other
processes on a shared machine. Weights are untrained: speed does not depend on them.
Inference runs at ``--precision`` (``auto``, what serving uses: bf16 weights for the
Transformer on CPUs with AMX, bf16 autocast on CUDA; ``float32``: the model as trained).

    python scripts/bench_neural.py [--steps 5] [--batch-size 256] [--threads N] [--device all]
    python scripts/bench_neural.py --precision float32 --steps 1
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl
import torch

from models.benchmark import best_ms, require_positive
from models.cli import UsageError, run_cli
from models.data.loader import load_ohlcv
from models.data.paths import default_data_dir
from models.nets.device import PRECISIONS, autocast, configure_threads
from models.predictors.networks import NETWORKS, build_model
from models.predictors.neural import NeuralPredictor
from models.registry import ModelArtifact
from models.training.artifacts import artifact_config
from models.training.dataset import PreparedData, prepare_symbol_data
from models.training.loop import TrainConfig, class_weights

MODELS = tuple(NETWORKS)
BATCHES = (1, 8, 32, 128)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="candle directory")
    parser.add_argument("--symbol", default="BTCUSDT")
    parser.add_argument("--steps", type=int, default=5, help="timed training steps")
    parser.add_argument("--batch-size", type=int, default=256, help="training batch size")
    parser.add_argument("--repeat", type=int, default=5, help="timed inference runs (best)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--device", choices=("all", "cpu", "cuda"), default="all")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--precision", choices=PRECISIONS, default="auto", help="inference")
    args = parser.parse_args(argv)
    require_positive(args, "steps", "batch_size", "repeat")
    return args


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_throughput(
    name: str, data: PreparedData, device: torch.device, args: argparse.Namespace
) -> float:
    """Samples per second of forward + backward + AdamW step (+ clipping) at default sizes."""
    model = build_model(name, data.n_features).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loss_fn = torch.nn.CrossEntropyLoss(
        weight=torch.as_tensor(class_weights(data.train.y), device=device)
    )
    rng = np.random.default_rng(0)

    def step() -> None:
        idx = np.sort(rng.choice(len(data.train), args.batch_size, replace=False))
        xb = torch.as_tensor(data.train.X[idx], device=device)
        yb = torch.as_tensor(data.train.y[idx], device=device)
        with autocast(device):
            loss = loss_fn(model(xb).float(), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    _sync(device)
    return args.steps * args.batch_size / (time.perf_counter() - start)


def _predictor(
    name: str, data: PreparedData, device: torch.device, precision: str
) -> NeuralPredictor:
    cfg = TrainConfig(model=name)
    net = build_model(name, data.n_features)
    artifact = ModelArtifact(
        "BTCUSDT",
        name,
        "v20000101T000000Z-00000000",
        net.state_dict(),
        artifact_config(cfg, data),
        {},
        {},
    )
    return NeuralPredictor(artifact, device=device, precision=precision)


def latency_row(
    name: str,
    data: PreparedData,
    candles: pl.DataFrame,
    device: torch.device,
    args: argparse.Namespace,
) -> list[float]:
    """Best forward-only and end-to-end ``predict_batch`` ms at each batch size, interleaved."""
    predictor = _predictor(name, data, device, args.precision)
    sync = partial(_sync, device)
    ends = data.test.ends
    cells = []
    for batch in BATCHES:
        xb = torch.as_tensor(data.test.X[np.arange(batch)], device=device)
        xb = xb.to(predictor.input_dtype)
        windows = [
            candles.slice(e + 1 - predictor.min_bars, predictor.min_bars) for e in ends[:batch]
        ]

        def forward(xb: torch.Tensor = xb) -> None:
            with torch.no_grad(), autocast(device, predictor.use_amp):
                predictor.network(xb)

        cells.append(best_ms(forward, args.repeat, sync))
        cells.append(best_ms(lambda w=windows: predictor.predict_batch(w), args.repeat, sync))
    return cells


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    threads = configure_threads(args.threads)
    candles = load_ohlcv(args.data / f"{args.symbol}-1h.csv.gz")
    data = prepare_symbol_data(candles, seq_len=64)
    devices = [torch.device("cpu")] if args.device in ("all", "cpu") else []
    if args.device in ("all", "cuda"):
        if torch.cuda.is_available():
            devices.append(torch.device("cuda"))
        elif args.device == "cuda":
            raise UsageError("--device cuda: CUDA is not available")
    print(
        f"torch {torch.__version__}, {threads} CPU threads, seq_len 64, "
        f"{data.n_features} features, train batch {args.batch_size}, "
        f"inference precision {args.precision}"
    )
    head = " ".join(f"{'fwd/e2e@' + str(b):>15}" for b in BATCHES)
    print(f"{'device':<6} {'model':<12} {'params':>9} {'train smp/s':>11} {head}   (ms)")
    for device in devices:
        for name in args.models:
            params = sum(p.numel() for p in build_model(name, data.n_features).parameters())
            rate = train_throughput(name, data, device, args)
            cells = latency_row(name, data, candles, device, args)
            lat = " ".join(
                f"{a:>7.1f}/{b:<7.1f}" for a, b in zip(cells[::2], cells[1::2], strict=True)
            )
            print(f"{device.type:<6} {name:<12} {params:>9,} {rate:>11.0f} {lat}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
