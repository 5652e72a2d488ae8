"""The one training loop of both neural models.

AdamW with a one-cycle learning-rate schedule, gradient clipping, class weights from the
training labels (so the flat class cannot win by sheer count), early stopping on the
validation loss (the same class-weighted cross-entropy the model is trained on) and
seeding of torch / numpy / random. The device is chosen at run time (CUDA with bf16
autocast when present). After every epoch ``on_epoch(epoch, metrics, get_checkpoint_state)``
is called; ``get_checkpoint_state()`` builds (only when asked) a dict that ``resume_state``
accepts to continue exactly where the run was: the shuffling order is derived from
``(seed, epoch)`` and the torch RNG states travel in the checkpoint, so on CPU a resumed
run equals an uninterrupted one bit for bit (on CUDA up to non-deterministic kernels).
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from models.config_errors import is_int, is_real
from models.errors import ConfigError
from models.nets.device import autocast, configure_threads, resolve_device
from models.predictors.networks import build_model
from models.training.dataset import PreparedData, Windows
from models.training.metrics import (
    N_CLASSES,
    classification_metrics,
    evaluate_classifier,
    predict_proba,
)

__all__ = [
    "EpochCallback",
    "TrainConfig",
    "TrainResult",
    "class_weights",
    "evaluate_classifier",
    "seed_everything",
    "train_model",
]

EpochCallback = Callable[[int, dict[str, float], Callable[[], dict[str, Any]]], None]


@dataclass
class TrainConfig:
    """Model, hyperparameters and optimisation settings of one training run."""

    model: str = "transformer"
    hparams: dict[str, Any] = field(default_factory=dict)
    lr: float = 3e-4
    weight_decay: float = 1e-2
    batch_size: int = 256
    max_epochs: int = 30
    patience: int = 5
    grad_clip: float = 1.0
    seed: int = 0
    device: str = "auto"
    use_amp: bool = True
    num_threads: int | None = None
    max_batches_per_epoch: int | None = None
    """Cap on optimizer steps per epoch (quick searches); ``None`` = every training window."""

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_epochs"):
            if not is_int(getattr(self, name)) or getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be an integer >= 1, got {getattr(self, name)!r}")
        if not is_int(self.patience) or self.patience < 0:
            raise ConfigError(f"patience: must be an integer >= 0, got {self.patience!r}")
        for name in ("lr", "weight_decay", "grad_clip"):
            value = getattr(self, name)
            if not is_real(value) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name}: must be a finite number >= 0, got {value!r}")
        if self.lr <= 0:
            raise ConfigError(f"lr: must be > 0, got {self.lr!r}")
        cap = self.max_batches_per_epoch
        if cap is not None and (not is_int(cap) or cap < 1):
            raise ConfigError(f"max_batches_per_epoch: must be an integer >= 1, got {cap!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"train config: unknown keys {sorted(unknown)}")
        return cls(**data)


@dataclass
class TrainResult:
    """The best model (weights of the epoch with the lowest validation loss) and its record."""

    model: nn.Module
    state_dict: dict[str, torch.Tensor]
    best_epoch: int
    best_val_loss: float
    epochs_run: int
    stopped_early: bool
    history: list[dict[str, float]]
    val_metrics: dict[str, float]
    test_metrics: dict[str, float]
    device: str


@dataclass
class _Run:
    """Mutable state of a run: everything a checkpoint must capture."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    loss_fn: nn.CrossEntropyLoss
    device: torch.device
    epoch: int = 0
    best_val_loss: float = math.inf
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    bad_epochs: int = 0
    history: list[dict[str, float]] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (all devices) so a run can be repeated."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def class_weights(y: np.ndarray) -> np.ndarray:
    """``n / (3 * count_c)`` per class (1 when balanced); 0 for a class absent from ``y``."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=N_CLASSES)[:N_CLASSES]
    with np.errstate(divide="ignore"):
        weights = np.where(counts > 0, len(y) / (N_CLASSES * counts), 0.0)
    return weights.astype(np.float32)


def _cpu_copy(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in state.items()}


def _steps_per_epoch(cfg: TrainConfig, n_train: int) -> int:
    steps = math.ceil(n_train / cfg.batch_size)
    return min(steps, cfg.max_batches_per_epoch or steps)


MIN_ONE_CYCLE_STEPS = 4
"""Below this many steps a one-cycle schedule has no room to warm up: constant rate."""


def lr_schedule(
    optimizer: torch.optim.Optimizer, lr: float, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """One-cycle (10 % warm-up, at least 2 steps) or, for tiny runs, a constant rate.

    OneCycleLR divides by its warm-up length minus one, so 10 % of 10 steps crashes it and
    fewer steps give a meaningless schedule; quick searches cap steps that low.
    """
    if total_steps < MIN_ONE_CYCLE_STEPS:
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _step: 1.0)
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=lr, total_steps=total_steps, pct_start=max(0.1, 2 / total_steps)
    )


def _setup(cfg: TrainConfig, data: PreparedData) -> _Run:
    if len(data.train) == 0 or len(data.val) == 0:
        raise ConfigError("data: training needs non-empty train and validation parts")
    configure_threads(cfg.num_threads)
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    model = build_model(cfg.model, data.n_features, **cfg.hparams).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total_steps = cfg.max_epochs * _steps_per_epoch(cfg, len(data.train))
    scheduler = lr_schedule(optimizer, cfg.lr, total_steps)
    weights = torch.as_tensor(class_weights(data.train.y), device=device)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    return _Run(model, optimizer, scheduler, loss_fn, device)


def _train_epoch(run: _Run, cfg: TrainConfig, data: PreparedData, epoch: int) -> float:
    """One pass over (a seeded shuffle of) the training windows; the mean training loss."""
    run.model.train()
    order = np.random.default_rng([cfg.seed, epoch]).permutation(len(data.train))
    total, count = 0.0, 0
    for step in range(_steps_per_epoch(cfg, len(order))):
        idx = np.sort(order[step * cfg.batch_size : (step + 1) * cfg.batch_size])
        xb = torch.as_tensor(data.train.X[idx], device=run.device)
        yb = torch.as_tensor(data.train.y[idx], device=run.device)
        with autocast(run.device, cfg.use_amp):
            logits = run.model(xb)
        loss = run.loss_fn(logits.float(), yb)
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(run.model.parameters(), cfg.grad_clip)
        run.optimizer.step()
        run.scheduler.step()
        total += float(loss.detach()) * len(idx)
        count += len(idx)
    return total / max(count, 1)


def _validate(run: _Run, cfg: TrainConfig, data: PreparedData) -> dict[str, float]:
    probs = predict_proba(run.model, data.val.X, batch_size=1024, use_amp=cfg.use_amp)
    y = torch.as_tensor(data.val.y)
    log_probs = torch.log(torch.as_tensor(probs).clamp_min(1e-12)).float()
    weight = run.loss_fn.weight.detach().cpu() if run.loss_fn.weight is not None else None
    val_loss = float(nn.functional.nll_loss(log_probs, y, weight=weight))
    metrics = classification_metrics(data.val.y, probs)
    return {"val_loss": val_loss, **{f"val_{k}": v for k, v in metrics.items()}}


def _checkpoint(run: _Run, cfg: TrainConfig) -> dict[str, Any]:
    """A deep, CPU-side snapshot of the run after epoch ``run.epoch``."""
    return {
        "config": cfg.to_dict(),
        "epoch": run.epoch,
        "model": _cpu_copy(run.model.state_dict()),
        "optimizer": copy.deepcopy(run.optimizer.state_dict()),
        "scheduler": copy.deepcopy(run.scheduler.state_dict()),
        "best": {
            "val_loss": run.best_val_loss,
            "epoch": run.best_epoch,
            "state_dict": None if run.best_state is None else dict(run.best_state),
        },
        "bad_epochs": run.bad_epochs,
        "history": copy.deepcopy(run.history),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if run.device.type == "cuda" else None,
    }


def _restore(run: _Run, cfg: TrainConfig, state: dict[str, Any]) -> None:
    saved = state.get("config", {})
    for key in ("model", "hparams", "batch_size", "max_epochs", "max_batches_per_epoch"):
        if saved.get(key) != getattr(cfg, key):
            raise ConfigError(
                f"resume_state: {key} was {saved.get(key)!r}, this run has {getattr(cfg, key)!r}"
            )
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    run.epoch = int(state["epoch"])
    best = state["best"]
    run.best_val_loss, run.best_epoch = float(best["val_loss"]), int(best["epoch"])
    run.best_state = None if best["state_dict"] is None else _cpu_copy(best["state_dict"])
    run.bad_epochs = int(state["bad_epochs"])
    run.history = copy.deepcopy(state["history"])
    torch.set_rng_state(state["torch_rng"])
    if run.device.type == "cuda" and state.get("cuda_rng") is not None:
        torch.cuda.set_rng_state_all(state["cuda_rng"])


def _end_epoch(run: _Run, cfg: TrainConfig, metrics: dict[str, float]) -> bool:
    """Record the epoch, keep the best weights; True when patience has run out."""
    if metrics["val_loss"] < run.best_val_loss:
        run.best_val_loss, run.best_epoch, run.bad_epochs = metrics["val_loss"], run.epoch, 0
        run.best_state = _cpu_copy(run.model.state_dict())
    else:
        run.bad_epochs += 1
    metrics.update(best_val_loss=run.best_val_loss, best_epoch=float(run.best_epoch))
    run.history.append(dict(metrics))
    return run.bad_epochs >= max(cfg.patience, 1)


def train_model(
    cfg: TrainConfig,
    data: PreparedData,
    on_epoch: EpochCallback | None = None,
    resume_state: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``cfg.model`` on ``data``; return the best-validation-loss model and metrics."""
    run = _setup(cfg, data)
    if resume_state is not None:
        _restore(run, cfg, resume_state)
    stopped = run.bad_epochs >= max(cfg.patience, 1)
    while not stopped and run.epoch < cfg.max_epochs:
        run.epoch += 1
        started = time.perf_counter()
        train_loss = _train_epoch(run, cfg, data, run.epoch)
        seconds = time.perf_counter() - started
        metrics = {"epoch": float(run.epoch), "train_loss": train_loss, **_validate(run, cfg, data)}
        metrics.update(lr=float(run.scheduler.get_last_lr()[0]), epoch_seconds=seconds)
        stopped = _end_epoch(run, cfg, metrics)
        if on_epoch is not None:
            on_epoch(run.epoch, metrics, lambda: _checkpoint(run, cfg))
    return _finish(run, cfg, data, stopped)


def _finish(run: _Run, cfg: TrainConfig, data: PreparedData, stopped: bool) -> TrainResult:
    if run.best_state is not None:
        run.model.load_state_dict(run.best_state)
    run.model.eval()

    def proba(X: Windows | np.ndarray) -> np.ndarray:
        return predict_proba(run.model, X, batch_size=1024, use_amp=cfg.use_amp)

    val = classification_metrics(data.val.y, proba(data.val.X))
    test = classification_metrics(data.test.y, proba(data.test.X))
    return TrainResult(
        model=run.model,
        state_dict=_cpu_copy(run.model.state_dict()),
        best_epoch=run.best_epoch,
        best_val_loss=run.best_val_loss,
        epochs_run=run.epoch,
        stopped_early=stopped,
        history=run.history,
        val_metrics=val,
        test_metrics=test,
        device=str(run.device),
    )
