"""Hyperparameter search per symbol and model with Ray Tune, then publish the best trial.

One Tune experiment per (symbol, model): validation losses of different symbols are not
comparable, so ASHA must only ever rank trials of the same symbol against each other.
Experiments live under ``<storage>/<name>/<SYMBOL>-<model>`` (a local path or a cloud URI
that every node reaches). Every trial reports after each epoch with a checkpoint, failed
trials are retried from their last checkpoint (``max_failures``), and an interrupted run is
continued with ``resume=True`` (``Tuner.restore``), which also skips experiments already
published (:mod:`models.training.tune_publish` leaves a marker in the experiment directory).
An interrupted search (Ctrl+C, which Tune catches) publishes nothing and re-raises
``KeyboardInterrupt`` so the caller stops instead of moving on to the next symbol.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ray import tune
from ray.tune.experiment import Trial
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search import BasicVariantGenerator

from models.errors import ConfigError
from models.training.summary import SummaryRow
from models.training.tune_progress import TrialProgress
from models.training.tune_publish import publish_best
from models.training.tune_space import search_space
from models.training.tune_trial import TrialSetup, train_trial


@dataclass(frozen=True)
class TuneOptions:
    """How to search: budget, resources per trial, where experiments go, resume or not."""

    storage: str = "ray_results"
    name: str = "smartmarket"
    num_samples: int = 2
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_failures: int = 2
    grace_period: int = 1
    reduction_factor: int = 2
    max_concurrent_trials: int | None = None
    small: bool = False
    search_seed: int = 0
    resume: bool = False

    def __post_init__(self) -> None:
        if self.num_samples < 1:
            raise ConfigError(f"num_samples: must be >= 1, got {self.num_samples}")
        if not math.isfinite(self.cpus_per_trial) or self.cpus_per_trial <= 0:
            raise ConfigError(f"cpus_per_trial: must be > 0, got {self.cpus_per_trial}")
        if not math.isfinite(self.gpus_per_trial) or self.gpus_per_trial < 0:
            raise ConfigError(f"gpus_per_trial: must be >= 0, got {self.gpus_per_trial}")
        if self.gpus_per_trial > 1 and self.gpus_per_trial != int(self.gpus_per_trial):
            raise ConfigError(f"gpus_per_trial: above 1 must be whole, got {self.gpus_per_trial}")
        if self.max_failures < 0:
            raise ConfigError(f"max_failures: must be >= 0, got {self.max_failures}")
        if self.grace_period < 1 or self.reduction_factor < 2:
            raise ConfigError("grace_period must be >= 1 and reduction_factor >= 2")
        if not self.name or "/" in self.name or self.name.startswith("."):
            raise ConfigError(f"name: must be a plain directory name, got {self.name!r}")

    @property
    def storage_uri(self) -> str:
        """``storage`` as Tune needs it: URIs unchanged, local paths made absolute."""
        if "://" in self.storage:
            return self.storage.rstrip("/")
        return str(Path(self.storage).expanduser().resolve())


def experiment_path(options: TuneOptions, setup: TrialSetup) -> str:
    """Where the experiment of ``setup``'s symbol and model lives."""
    return f"{options.storage_uri}/{options.name}/{setup.symbol}-{setup.model}"


def _trainable(options: TuneOptions) -> Callable[[dict[str, Any]], None]:
    """The trial function with this search's per-trial CPU / GPU request attached."""
    resources = {"cpu": options.cpus_per_trial, "gpu": options.gpus_per_trial}
    trainable: Callable[[dict[str, Any]], None] = tune.with_resources(train_trial, resources)
    return trainable


def _new_tuner(setup: TrialSetup, options: TuneOptions) -> tune.Tuner:
    scheduler = ASHAScheduler(
        time_attr="training_iteration",
        max_t=setup.max_epochs,
        grace_period=min(options.grace_period, setup.max_epochs),
        reduction_factor=options.reduction_factor,
    )
    label = f"{setup.symbol}/{setup.model}"
    return tune.Tuner(
        _trainable(options),
        param_space={**search_space(setup.model, small=options.small), "setup": setup.to_dict()},
        tune_config=tune.TuneConfig(
            metric="val_loss",
            mode="min",
            scheduler=scheduler,
            search_alg=BasicVariantGenerator(random_state=options.search_seed),
            num_samples=options.num_samples,
            max_concurrent_trials=options.max_concurrent_trials,
        ),
        run_config=tune.RunConfig(
            name=f"{setup.symbol}-{setup.model}",
            storage_path=f"{options.storage_uri}/{options.name}",
            failure_config=tune.FailureConfig(max_failures=options.max_failures),
            checkpoint_config=tune.CheckpointConfig(
                num_to_keep=2,
                checkpoint_score_attribute="val_loss",
                checkpoint_score_order="min",
            ),
            callbacks=[TrialProgress(label, setup.max_epochs)],
            verbose=0,
        ),
    )


def existing_experiments(setups: list[TrialSetup], options: TuneOptions) -> list[str]:
    """Experiment paths of ``setups`` that already exist (to refuse them unless resuming)."""
    paths = [experiment_path(options, s) for s in setups]
    return [p for p in paths if tune.Tuner.can_restore(p)]


def make_tuner(setup: TrialSetup, options: TuneOptions) -> tune.Tuner:
    """A fresh Tuner, or the restored one when resuming an experiment that exists."""
    path = experiment_path(options, setup)
    if tune.Tuner.can_restore(path):
        if not options.resume:
            raise ConfigError(
                f"storage: experiment {path} already exists; pass --resume to continue it "
                "or --name to start a new run"
            )
        print(f"[{setup.symbol}/{setup.model}] resuming experiment {path}", flush=True)
        return tune.Tuner.restore(path, _trainable(options), resume_errored=True)
    return _new_tuner(setup, options)


def was_interrupted(path: str) -> bool:
    """True when the saved experiment still has trials to run (Tune caught a Ctrl+C).

    The grid ``fit`` returns after an interruption shows the stopped trials as terminated;
    only the experiment state on storage (what a restore would continue) tells the truth.
    """
    trials = tune.ExperimentAnalysis(path).trials
    return any(t.status not in (Trial.TERMINATED, Trial.ERROR) for t in trials)


def tune_and_publish(setup: TrialSetup, options: TuneOptions, registry_root: str) -> SummaryRow:
    """Search ``setup``'s symbol and model, publish the best trial, return its summary row."""
    started = time.perf_counter()
    grid = make_tuner(setup, options).fit()
    path = experiment_path(options, setup)
    if was_interrupted(path):
        # Tune swallows Ctrl+C and returns the unfinished trials: never publish those.
        print(f"[{setup.symbol}/{setup.model}] interrupted; continue with --resume", flush=True)
        raise KeyboardInterrupt
    return publish_best(grid, setup, registry_root, path, started=started)
