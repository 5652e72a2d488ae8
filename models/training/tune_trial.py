"""One Tune trial: load a symbol's candles, train one sampled configuration, report each epoch.

The trial receives only small settings (:class:`TrialSetup`, a plain dict in the param
space) and loads the candles itself from ``data_path``: every worker reads the file it
needs instead of the driver shipping arrays through the object store, and a restored
experiment still knows exactly which data it was tuned on. After every epoch the metrics go
to Tune with a checkpoint of the whole run state (:func:`models.training.loop.train_model`
can resume from it), so a failed or interrupted trial continues from its last epoch.
"""

from __future__ import annotations

import logging
import math
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import polars as pl
import torch
from ray import tune

from models.data.loader import load_market_data
from models.data.times import parse_utc, restrict_period
from models.errors import ConfigError
from models.labels import LabelConfig
from models.training.dataset import PreparedData, prepare_symbol_data
from models.training.loop import TrainConfig, train_model
from models.training.tune_space import network_hparams

logger = logging.getLogger(__name__)

STATE_FILE = "state.pt"
"""File name of the run state inside a Tune checkpoint directory."""


@dataclass(frozen=True)
class TrialSetup:
    """The fixed (not searched) settings of every trial of one symbol and model."""

    data_path: str
    symbol: str
    model: str
    label: dict[str, Any] = field(default_factory=lambda: LabelConfig().to_dict())
    val_frac: float = 0.15
    test_frac: float = 0.15
    start: str | None = None
    end: str | None = None
    max_rows: int | None = None
    max_epochs: int = 10
    patience: int = 3
    batch_size: int = 256
    max_batches_per_epoch: int | None = None
    weight_decay: float = 1e-2
    seed: int = 0
    gpus: float = 0.0

    def __post_init__(self) -> None:
        LabelConfig.from_dict(dict(self.label))
        if self.max_rows is not None and self.max_rows < 1:
            raise ConfigError(f"max_rows: must be >= 1, got {self.max_rows}")
        if not math.isfinite(self.gpus) or self.gpus < 0:
            raise ConfigError(f"gpus: must be >= 0, got {self.gpus}")
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None:
                parse_utc(value, name)

    @property
    def label_cfg(self) -> LabelConfig:
        return LabelConfig.from_dict(dict(self.label))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialSetup:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"trial setup: unknown keys {sorted(unknown)}")
        return cls(**data)


def bound_candles(candles: pl.DataFrame, setup: TrialSetup) -> pl.DataFrame:
    """Rows in ``[start, end)``, then the last ``max_rows`` of them (the recent window)."""
    candles = restrict_period(candles, setup.start, setup.end)
    if setup.max_rows is not None:
        candles = candles.tail(setup.max_rows)
    return candles


def load_trial_data(setup: TrialSetup, seq_len: int) -> PreparedData:
    """The symbol's bounded candles as train / val / test windows of ``seq_len`` bars."""
    candles = load_market_data(setup.data_path, symbols=[setup.symbol])[setup.symbol]
    return prepare_symbol_data(
        bound_candles(candles, setup),
        seq_len=seq_len,
        label_cfg=setup.label_cfg,
        val_frac=setup.val_frac,
        test_frac=setup.test_frac,
    )


def trial_device(gpus: float) -> str:
    """``cuda`` when the trial was given a GPU and one is visible, else ``cpu`` (logged)."""
    if gpus <= 0:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    logger.warning("trial asked for %s GPU but none is visible: training on CPU", gpus)
    return "cpu"


def train_config(setup: TrialSetup, config: dict[str, Any], device: str) -> TrainConfig:
    """The loop's configuration for one sampled ``config``."""
    return TrainConfig(
        model=setup.model,
        hparams=network_hparams(setup.model, config),
        lr=float(config["lr"]),
        weight_decay=setup.weight_decay,
        batch_size=setup.batch_size,
        max_epochs=setup.max_epochs,
        patience=setup.patience,
        seed=setup.seed,
        device=device,
        max_batches_per_epoch=setup.max_batches_per_epoch,
    )


def save_state(directory: str | Path, state: dict[str, Any]) -> None:
    torch.save(state, Path(directory) / STATE_FILE)


def load_state(checkpoint: tune.Checkpoint) -> dict[str, Any]:
    """The run state stored in a checkpoint written by :func:`train_trial`."""
    with checkpoint.as_directory() as directory:
        path = Path(directory) / STATE_FILE
        if not path.is_file():
            raise ConfigError(f"checkpoint: {checkpoint.path} has no {STATE_FILE}")
        state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
        return state


def train_trial(config: dict[str, Any]) -> None:
    """Tune function trainable: ``config`` holds the sampled keys and ``setup`` (a dict)."""
    # Ray logs every persisted checkpoint at INFO; one line per epoch per trial is noise.
    logging.getLogger("ray.train._internal.storage").setLevel(logging.WARNING)
    setup = TrialSetup.from_dict(config["setup"])
    device = trial_device(setup.gpus)
    data = load_trial_data(setup, int(config["seq_len"]))
    cfg = train_config(setup, config, device)
    previous = tune.get_checkpoint()
    resume = load_state(previous) if previous is not None else None
    if resume is not None:
        logger.info("resuming %s %s after epoch %s", setup.symbol, setup.model, resume["epoch"])
    sizes = {"n_train": len(data.train), "n_val": len(data.val), "on_gpu": int(device == "cuda")}

    def on_epoch(
        epoch: int, metrics: dict[str, float], get_state: Callable[[], dict[str, Any]]
    ) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            save_state(tmp, get_state())
            tune.report({**metrics, **sizes}, checkpoint=tune.Checkpoint.from_directory(tmp))

    train_model(cfg, data, on_epoch=on_epoch, resume_state=resume)
