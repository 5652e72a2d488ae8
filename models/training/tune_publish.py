"""After a search: pick the best checkpoint, score it on the test split, publish it.

No retraining: the weights of the epoch with the lowest validation loss (over every trial)
are rebuilt on the driver, scored on the TEST part of the same prepared data the trial used
(same rows, seq_len, scaler) next to the baselines on those rows, and published with
everything needed to use them again (the shared format of :mod:`models.training.artifacts`:
network hparams, scaler statistics, feature names, label definition, data window) plus the
Tune provenance. A small marker in the experiment
directory records the published version, so resuming a finished run does not publish twice.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any

import torch
from ray import tune
from torch import nn

from models.predictors.networks import build_model
from models.registry import ModelRegistry
from models.registry.store import Store
from models.training.artifacts import artifact_config
from models.training.baselines import baseline_metrics
from models.training.dataset import PreparedData
from models.training.loop import TrainConfig
from models.training.metrics import evaluate_classifier
from models.training.summary import Scores, SummaryRow
from models.training.tune_space import SEARCH_KEYS, network_hparams
from models.training.tune_trial import TrialSetup, load_state, load_trial_data
from models.vocabulary import CLASSES

MARKER = "published.json"
"""File in an experiment directory naming the version published from it."""


@dataclass(frozen=True)
class BestCheckpoint:
    """The checkpoint with the lowest validation loss and the trial it came from."""

    result: tune.Result
    checkpoint: tune.Checkpoint
    metrics: dict[str, Any]

    @property
    def trial_id(self) -> str:
        return str(self.metrics.get("trial_id") or self.result.path.rstrip("/").split("/")[-1])

    @property
    def config(self) -> dict[str, Any]:
        """The trial's sampled config (Tune keeps one for every trial that reported)."""
        if self.result.config is None:
            raise ValueError(f"trial {self.trial_id}: Tune kept no config")
        return self.result.config


@dataclass(frozen=True)
class Evaluation:
    """The chosen weights rebuilt on their data, with validation, test and baseline scores."""

    state_dict: dict[str, torch.Tensor]
    saved_state: dict[str, Any]
    data: PreparedData
    hparams: dict[str, Any]
    val: dict[str, float]
    test: dict[str, float]
    baselines: dict[str, dict[str, dict[str, float]]]


def best_checkpoint(grid: tune.ResultGrid) -> BestCheckpoint | None:
    """Lowest finite ``val_loss`` over every kept checkpoint of every trial (None if none)."""
    best: tuple[float, int, BestCheckpoint] | None = None
    for order in range(len(grid)):  # ResultGrid is indexed, not iterable, in its types
        result = grid[order]
        for checkpoint, metrics in result.best_checkpoints or []:
            loss = metrics.get("val_loss")
            if not isinstance(loss, (int, float)) or not math.isfinite(loss):
                continue
            if best is None or (loss, order) < best[:2]:
                best = (float(loss), order, BestCheckpoint(result, checkpoint, dict(metrics)))
    return None if best is None else best[2]


def evaluate_best(setup: TrialSetup, best: BestCheckpoint) -> Evaluation:
    """Rebuild the best epoch's network (on CPU) and score it and the baselines."""
    config = best.config
    state = load_state(best.checkpoint)
    weights = state["best"]["state_dict"] or state["model"]
    data = load_trial_data(setup, int(config["seq_len"]))
    hparams = network_hparams(setup.model, config)
    model: nn.Module = build_model(setup.model, data.n_features, **hparams)
    model.load_state_dict(weights)
    kwargs = {"device": torch.device("cpu"), "use_amp": False}
    return Evaluation(
        state_dict=weights,
        saved_state=state,
        data=data,
        hparams=hparams,
        val=evaluate_classifier(model, data.val.X, data.val.y, **kwargs),
        test=evaluate_classifier(model, data.test.X, data.test.y, **kwargs),
        baselines={"val": baseline_metrics(data, "val"), "test": baseline_metrics(data, "test")},
    )


def tuned_config(
    setup: TrialSetup, best: BestCheckpoint, ev: Evaluation, experiment: str
) -> dict[str, Any]:
    """The shared ``config.json`` (:mod:`models.training.artifacts`) plus Tune provenance."""
    train_cfg = TrainConfig.from_dict(dict(ev.saved_state["config"]))
    return {
        **artifact_config(train_cfg, ev.data),
        "classes": list(CLASSES),
        "search": {k: best.config[k] for k in SEARCH_KEYS},
        "data": {k: v for k, v in setup.to_dict().items() if k not in ("label", "model")},
        "tune": {
            "experiment": experiment,
            "trial_id": best.trial_id,
            "checkpoint": best.checkpoint.path,
        },
    }


def tuned_metrics(ev: Evaluation, grid: tune.ResultGrid, best: BestCheckpoint) -> dict[str, Any]:
    """The shared ``metrics.json`` keys for the chosen epoch, plus the search's record."""
    state = ev.saved_state
    return {
        "val": ev.val,
        "test": ev.test,
        "baselines": ev.baselines,
        "best_epoch": int(state["best"]["epoch"]),
        "epochs_run": int(state["epoch"]),
        "samples": {part: len(getattr(ev.data, part)) for part in ("train", "val", "test")},
        "history": state["history"],
        "tune": {
            "trials": len(grid),
            "errored_trials": grid.num_errors,
            "best_trial": best.trial_id,
            "best_val_loss": float(best.metrics["val_loss"]),
        },
    }


def _read_marker(experiment: str) -> dict[str, Any] | None:
    store = Store(experiment)
    path = store.path(MARKER)
    if not store.is_file(path):
        return None
    marker: dict[str, Any] = json.loads(store.read_bytes(path))
    return marker


def _write_marker(experiment: str, payload: dict[str, Any]) -> None:
    store = Store(experiment)
    store.write_atomic(store.path(MARKER), json.dumps(payload, indent=2).encode())


def publish_once(
    setup: TrialSetup,
    registry_root: str,
    experiment: str,
    artifact: tuple[dict[str, Any], dict[str, Any]],
    ev: Evaluation,
) -> str:
    """Publish unless this experiment already published to this registry; the version."""
    registry = ModelRegistry(registry_root)
    marker = _read_marker(experiment)
    if (
        marker
        and marker.get("registry") == registry.root
        and marker.get("version") in registry.versions(setup.symbol, setup.model)
    ):
        return str(marker["version"])
    version = registry.publish(
        setup.symbol,
        setup.model,
        state_dict=ev.state_dict,
        config=artifact[0],
        metrics=artifact[1],
        data_window={**ev.data.data_window, "symbol": setup.symbol, "source": setup.data_path},
    )
    _write_marker(experiment, {"registry": registry.root, "version": version})
    return version


def publish_best(
    grid: tune.ResultGrid,
    setup: TrialSetup,
    registry_root: str,
    experiment: str,
    *,
    started: float,
) -> SummaryRow:
    """Evaluate and publish the best checkpoint of ``grid``; its row of the summary table."""
    best = best_checkpoint(grid)
    if best is None:
        errors = [str(e).strip().splitlines()[-1] for e in grid.errors if str(e).strip()]
        reason = errors[0] if errors else "no trial reported a finite val_loss"
        return SummaryRow(
            symbol=setup.symbol,
            model=setup.model,
            trials=len(grid),
            seconds=time.perf_counter() - started,
            error=reason,
        )
    # The trial's own setup, not the caller's: a resumed run keeps the data it was tuned on.
    setup = TrialSetup.from_dict(best.config["setup"])
    ev = evaluate_best(setup, best)
    artifact = (tuned_config(setup, best, ev, experiment), tuned_metrics(ev, grid, best))
    version = publish_once(setup, registry_root, experiment, artifact, ev)
    return SummaryRow(
        symbol=setup.symbol,
        model=setup.model,
        trials=len(grid),
        val_loss=float(best.metrics["val_loss"]),
        val_accuracy=ev.val["accuracy"],
        test=Scores.from_metrics(ev.test),
        baselines={k: Scores.from_metrics(v) for k, v in ev.baselines["test"].items()},
        n_test=len(ev.data.test),
        version=version,
        seconds=time.perf_counter() - started,
    )
