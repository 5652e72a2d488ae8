"""A tiny trained network in a registry, for the leak and CLI tests.

Trained for one short epoch on two months of real BTC candles: it is not meant to predict
anything, only to be a genuine registry artifact whose data window is known.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from models.registry import ModelRegistry

TRAIN_START, TRAIN_END = "2022-01-01", "2022-03-01"


def train_tiny_registry(root: Path, candles: pl.DataFrame, symbol: str = "BTCUSDT") -> Path:
    """Publish a one-epoch ``cnn_lstm`` for ``symbol`` under ``root``; return ``root``."""
    from models.training.artifacts import publish_result
    from models.training.dataset import prepare_symbol_data
    from models.training.loop import TrainConfig, train_model

    data = prepare_symbol_data(candles, seq_len=16, start=TRAIN_START, end=TRAIN_END, test_frac=0.1)
    cfg = TrainConfig(
        model="cnn_lstm",
        hparams={"channels": 8, "hidden": 8, "lstm_layers": 1, "conv_layers": 1},
        max_epochs=1,
        max_batches_per_epoch=2,
        batch_size=64,
        device="cpu",
    )
    publish_result(ModelRegistry(root), symbol, cfg, data, train_model(cfg, data))
    return root
