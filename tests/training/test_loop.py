"""The training loop: seeding, early stopping, exact resume, callbacks, metrics, baselines."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from models.errors import ConfigError
from models.training.baselines import baseline_metrics, momentum_classes
from models.training.dataset import PreparedData, prepare_symbol_data
from models.training.loop import TrainConfig, class_weights, lr_schedule, train_model
from models.training.metrics import classification_metrics, evaluate_classifier
from models.vocabulary import DOWN, FLAT, UP
from tests.training.synthetic import random_walk_candles

TINY = {"d_model": 8, "nhead": 2, "num_layers": 1}


@pytest.fixture(scope="module")
def data() -> PreparedData:
    return prepare_symbol_data(random_walk_candles(1100, seed=3), seq_len=8, test_frac=0.1)


def _cfg(**kw) -> TrainConfig:
    base = {"model": "transformer", "hparams": TINY, "batch_size": 64, "max_epochs": 3}
    return TrainConfig(**{**base, "num_threads": 1, "lr": 3e-3, **kw})


def _same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_seeded_runs_repeat_and_seeds_differ(data: PreparedData) -> None:
    first = train_model(_cfg(max_epochs=2), data)
    again = train_model(_cfg(max_epochs=2), data)
    other = train_model(_cfg(max_epochs=2, seed=1), data)
    assert _same_state(first.state_dict, again.state_dict)
    assert [h["val_loss"] for h in first.history] == [h["val_loss"] for h in again.history]
    assert not _same_state(first.state_dict, other.state_dict)


def test_early_stopping_keeps_the_best_epoch(data: PreparedData) -> None:
    # Random-walk labels cannot be learned: a big learning rate overfits the training part
    # and the validation loss stops improving long before 40 epochs.
    cfg = TrainConfig(
        model="cnn_lstm",
        hparams={"channels": 16, "hidden": 32, "dropout": 0.0},
        lr=2e-2,
        batch_size=32,
        max_epochs=40,
        patience=2,
        num_threads=1,
    )
    result = train_model(cfg, data)
    losses = [h["val_loss"] for h in result.history]
    assert result.stopped_early and result.epochs_run < 40
    assert result.best_epoch == 1 + int(np.argmin(losses))
    assert result.epochs_run == result.best_epoch + cfg.patience
    assert result.best_val_loss == min(losses)
    # The returned weights are the best epoch's, so re-evaluating gives its loss.
    assert evaluate_classifier(result.model, data.val.X, data.val.y) == result.val_metrics


def test_resume_continues_exactly(data: PreparedData) -> None:
    seen: dict[int, dict] = {}

    def on_epoch(epoch: int, metrics: dict, get_state) -> None:
        assert metrics["epoch"] == epoch and "val_loss" in metrics and "train_loss" in metrics
        seen[epoch] = get_state()

    cfg = dataclasses.replace(_cfg(max_epochs=4), hparams={**TINY, "dropout": 0.2})
    full = train_model(cfg, data, on_epoch=on_epoch)
    assert sorted(seen) == [1, 2, 3, 4]
    resumed = train_model(cfg, data, resume_state=seen[2])
    assert resumed.epochs_run == 4
    assert _same_state(full.state_dict, resumed.state_dict)
    assert [h["val_loss"] for h in resumed.history] == [h["val_loss"] for h in full.history]
    with pytest.raises(ConfigError, match="model"):
        train_model(dataclasses.replace(cfg, model="cnn_lstm", hparams={}), data, None, seen[2])


def test_config_validation_and_round_trip(data: PreparedData) -> None:
    cfg = _cfg()
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="lr"):
        TrainConfig(lr=0.0)
    with pytest.raises(ConfigError, match="batch_size"):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError, match="unknown"):
        TrainConfig.from_dict({"learning_rate": 1e-3})
    with pytest.raises(ConfigError, match="device"):
        train_model(_cfg(device="tpu"), data)


def test_class_weights_and_metrics() -> None:
    np.testing.assert_allclose(class_weights(np.array([0, 1, 1, 1, 2, 2])), [2.0, 2 / 3, 1.0])
    assert class_weights(np.array([1, 1]))[0] == 0.0
    y = np.array([0, 1, 2, 2])
    probs = np.array([[0.8, 0.1, 0.1], [0.2, 0.5, 0.3], [0.1, 0.6, 0.3], [0.1, 0.1, 0.8]])
    m = classification_metrics(y, probs)
    assert m["accuracy"] == 0.75
    # F1 per class: down 1, flat 2/3 (tp 1, fp 1), up 2/3 (tp 1, fn 1).
    assert m["macro_f1"] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.8, 0.5, 0.3, 0.8])))


def test_baselines_on_the_same_rows(data: PreparedData) -> None:
    out = baseline_metrics(data, "test")
    assert set(out) == {"majority", "always_flat", "momentum"}
    majority = int(np.bincount(data.train.y).argmax())
    assert out["majority"]["accuracy"] == pytest.approx(np.mean(data.test.y == majority))
    assert out["always_flat"]["accuracy"] == pytest.approx(np.mean(data.test.y == FLAT))
    classes = momentum_classes(np.array([0.02, -0.02, 0.001]), np.array([0.02, 0.02, 0.02]), 4)
    assert classes.tolist() == [UP, DOWN, FLAT]  # one-bar band 0.01
    with pytest.raises(ConfigError, match="part"):
        baseline_metrics(data, "holdout")


@pytest.mark.parametrize("total_steps", [1, 2, 3, 4, 5, 9, 10, 11, 20, 200])
def test_lr_schedule_runs_for_any_step_count(total_steps: int) -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([param], lr=1e-3)
    schedule = lr_schedule(optimizer, 1e-3, total_steps)
    rates = []
    for _ in range(total_steps):
        optimizer.step()
        rates.append(schedule.get_last_lr()[0])
        schedule.step()
    assert all(0 < r <= 1e-3 + 1e-12 for r in rates)
    if total_steps >= 10:
        assert max(rates) == pytest.approx(1e-3, rel=1e-2)
        assert rates[-1] < rates[len(rates) // 2]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"batch_size": True}, "batch_size"),  # was accepted as a batch of 1
        ({"patience": False}, "patience"),
        ({"max_batches_per_epoch": 2.5}, "max_batches_per_epoch"),  # failed mid-training
        ({"lr": True}, "lr"),
    ],
)
def test_wrong_types_are_config_errors_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        TrainConfig(**kwargs)
