"""Concise per-trial progress lines while Tune runs (Tune's own table is switched off).

One line per epoch, per retry and per finished trial, prefixed with the symbol and model,
carrying only what a person watching needs: the sampled knobs once, then epoch, losses and
validation accuracy. The callback is pickled into the experiment (Tune restores it with the
run), so it holds nothing but its label and writes with ``print``.
"""

from __future__ import annotations

import math
from typing import Any

from ray import tune
from ray.tune.experiment import Trial

from models.training.tune_space import SEARCH_KEYS


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.2e}" if abs(value) < 1e-2 else f"{value:.3g}"
    return str(value)


def describe_config(config: dict[str, Any]) -> str:
    """``lr 1.20e-03 dropout 0.12 width 32 depth 2 seq_len 32`` for the sampled keys."""
    return " ".join(f"{k} {_fmt(config[k])}" for k in SEARCH_KEYS if k in config)


def epoch_line(label: str, trial_id: str, result: dict[str, Any], max_epochs: int) -> str:
    """One epoch's line: losses, validation accuracy / F1 and the epoch time."""
    epoch = int(result.get("epoch", result.get("training_iteration", 0)))
    parts = [f"[{label}] {trial_id} epoch {epoch}/{max_epochs}"]
    for key, name in (
        ("train_loss", "train_loss"),
        ("val_loss", "val_loss"),
        ("val_accuracy", "val_acc"),
        ("val_macro_f1", "val_f1"),
    ):
        if key in result:
            parts.append(f"{name} {result[key]:.4f}")
    if "epoch_seconds" in result:
        parts.append(f"({result['epoch_seconds']:.1f}s)")
    return "  ".join(parts)


class TrialProgress(tune.Callback):
    """Prints start, epoch, retry, error and completion lines for one experiment."""

    def __init__(self, label: str, max_epochs: int) -> None:
        self.label = label
        self.max_epochs = max_epochs

    def _say(self, text: str) -> None:
        print(text, flush=True)

    def on_trial_start(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._say(f"[{self.label}] {trial.trial_id} start  {describe_config(trial.config)}")

    def on_trial_result(
        self, iteration: int, trials: list[Trial], trial: Trial, result: dict[str, Any], **info: Any
    ) -> None:
        self._say(epoch_line(self.label, trial.trial_id, result, self.max_epochs))

    def on_trial_recover(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._say(
            f"[{self.label}] {trial.trial_id} failed (attempt {trial.num_failures}); "
            "retrying from its last checkpoint"
        )

    def on_trial_error(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        self._say(
            f"[{self.label}] {trial.trial_id} ERROR after {trial.num_failures} attempt(s); "
            f"see {trial.error_file or 'the trial log'}"
        )

    def on_trial_complete(
        self, iteration: int, trials: list[Trial], trial: Trial, **info: Any
    ) -> None:
        last = trial.last_result or {}
        epochs = int(last.get("epoch", last.get("training_iteration", 0)))
        best = last.get("best_val_loss")
        best_text = f", best val_loss {best:.4f}" if isinstance(best, float) else ""
        self._say(f"[{self.label}] {trial.trial_id} done after {epochs} epoch(s){best_text}")
