"""What a trained model is published with, so a predictor can rebuild it exactly.

``config.json`` carries everything inference needs (network name and hyperparameters,
feature list, scaler statistics, window length, label definition) plus the optimisation
settings for the record; ``metrics.json`` carries validation and test scores next to the
baselines on the same rows. :func:`publish_result` is the one call a training driver makes.
"""

from __future__ import annotations

from typing import Any

from models.features.model_features import MAX_LOOKBACK
from models.registry import ModelRegistry
from models.training.baselines import baseline_metrics
from models.training.dataset import PreparedData
from models.training.loop import TrainConfig, TrainResult, train_model


def artifact_config(cfg: TrainConfig, data: PreparedData) -> dict[str, Any]:
    """The ``config.json`` of a model trained with ``cfg`` on ``data``."""
    return {
        "model": cfg.model,
        "hparams": dict(cfg.hparams),
        "feature_names": list(data.feature_names),
        "seq_len": data.seq_len,
        "max_lookback": MAX_LOOKBACK,
        "horizon": data.label_cfg.horizon,
        "label": data.label_cfg.to_dict(),
        "scaler": data.scaler.to_dict(),
        "train": cfg.to_dict(),
    }


def artifact_metrics(result: TrainResult, data: PreparedData) -> dict[str, Any]:
    """The ``metrics.json``: best-epoch validation and test scores, baselines, history."""
    return {
        "val": result.val_metrics,
        "test": result.test_metrics,
        "baselines": {"val": baseline_metrics(data, "val"), "test": baseline_metrics(data, "test")},
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "stopped_early": result.stopped_early,
        "samples": {"train": len(data.train), "val": len(data.val), "test": len(data.test)},
        "history": result.history,
    }


def publish_result(
    registry: ModelRegistry,
    symbol: str,
    cfg: TrainConfig,
    data: PreparedData,
    result: TrainResult,
) -> str:
    """Publish the best weights of ``result`` with config, metrics and data window."""
    return registry.publish(
        symbol,
        cfg.model,
        state_dict=result.state_dict,
        config=artifact_config(cfg, data),
        metrics=artifact_metrics(result, data),
        data_window=data.data_window,
    )


def publish_brief_models(
    registry: ModelRegistry,
    symbol: str,
    data: PreparedData,
    networks: dict[str, dict[str, Any]],
    max_batches: int,
) -> None:
    """Train each of ``networks`` (name -> hyperparameters) for one short epoch on ``data``
    and publish it: models for load and speed tests, whose quality does not matter."""
    for name, hparams in networks.items():
        cfg = TrainConfig(
            model=name,
            hparams=hparams,
            max_epochs=1,
            max_batches_per_epoch=max_batches,
            num_threads=1,
            use_amp=False,
        )
        publish_result(registry, symbol, cfg, data, train_model(cfg, data))
