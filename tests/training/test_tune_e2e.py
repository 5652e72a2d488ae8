"""End to end on real candles: a tiny Tune search publishes a model that loads and predicts.

One symbol, two trials of one epoch each, tiny networks and 2,500 candles, on the shared
session Ray instance (fractional CPUs per trial). The published artifact is checked the
way the service will use it, and its test scores are recomputed from the artifact alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.errors import ConfigError
from models.labels import LabelConfig
from models.predictors.networks import build_model
from models.registry import ModelRegistry
from models.training.dataset import prepare_symbol_data
from models.training.metrics import evaluate_classifier
from models.training.tune import TuneOptions, experiment_path, tune_and_publish
from models.training.tune_trial import TrialSetup, bound_candles

pytestmark = [pytest.mark.slow, pytest.mark.ray]

ROWS = 2500


@pytest.fixture(scope="module")
def tuned(ray_session, real_data_dir: Path, tmp_path_factory):
    """Run the search once for the whole module: (setup, options, registry root, row)."""
    root = tmp_path_factory.mktemp("tune")
    setup = TrialSetup(
        data_path=str(real_data_dir),
        symbol="ETHUSDT",
        model="cnn_lstm",
        max_rows=ROWS,
        max_epochs=1,
        batch_size=64,
        max_batches_per_epoch=8,
        gpus=0.5,  # asked for, but this Ray instance has no GPU: the trial must fall back
    )
    options = TuneOptions(
        storage=str(root / "results"),
        name="e2e",
        num_samples=2,
        cpus_per_trial=0.5,
        small=True,
        max_failures=1,
    )
    registry = str(root / "registry")
    row = tune_and_publish(setup, options, registry)
    return setup, options, registry, row


def test_search_publishes_a_version_with_scores_and_baselines(tuned):
    _, _, registry, row = tuned
    assert row.error is None
    assert row.trials == 2
    reg = ModelRegistry(registry)
    assert reg.versions("ETHUSDT", "cnn_lstm") == [row.version]
    artifact = reg.load("ETHUSDT", "cnn_lstm")
    metrics = artifact.metrics
    for part in ("val", "test"):
        assert set(metrics[part]) >= {"accuracy", "macro_f1", "log_loss"}
        assert set(metrics["baselines"][part]) == {"majority", "always_flat", "momentum"}
    assert metrics["samples"]["test"] == row.n_test > 0
    assert metrics["tune"]["trials"] == 2
    assert row.test.accuracy == pytest.approx(metrics["test"]["accuracy"])
    assert row.baselines["majority"].accuracy == pytest.approx(
        metrics["baselines"]["test"]["majority"]["accuracy"]
    )
    window = artifact.manifest["data_window"]
    assert window["symbol"] == "ETHUSDT" and window["test"]["samples"] == row.n_test


def test_artifact_alone_reproduces_the_test_scores(tuned, real_candles):
    """Config (hparams, seq_len, label, scaler) + weights give back the published metrics."""
    setup, _, registry, _ = tuned
    artifact = ModelRegistry(registry).load("ETHUSDT", "cnn_lstm")
    config = artifact.config
    assert config["data"]["max_rows"] == ROWS and config["label"] == LabelConfig().to_dict()
    assert config["search"]["seq_len"] == config["seq_len"]
    data = prepare_symbol_data(
        bound_candles(real_candles("ETHUSDT"), setup),
        seq_len=config["seq_len"],
        label_cfg=LabelConfig.from_dict(config["label"]),
    )
    assert np.allclose(data.scaler.to_dict()["mean"], config["scaler"]["mean"])
    model = build_model(config["model"], len(config["feature_names"]), **config["hparams"])
    model.load_state_dict(artifact.state_dict)
    scores = evaluate_classifier(model, data.test.X, data.test.y, device=torch.device("cpu"))
    assert scores["accuracy"] == pytest.approx(artifact.metrics["test"]["accuracy"])
    assert scores["log_loss"] == pytest.approx(artifact.metrics["test"]["log_loss"], rel=1e-5)


def test_published_model_serves_through_the_predictor(tuned, real_candles):
    from models.predictors.cnn_lstm import CnnLstmPredictor

    _, _, registry, row = tuned
    predictor = CnnLstmPredictor.from_registry(registry, "ETHUSDT", device="cpu")
    window = real_candles("ETHUSDT").tail(predictor.min_bars + 5)
    prediction = predictor.predict(window)
    assert prediction.version == row.version
    assert sum(prediction.probabilities) == pytest.approx(1.0)


def test_trials_report_every_epoch_with_a_checkpoint_on_cpu(tuned):
    setup, options, _, _ = tuned
    exp = Path(experiment_path(options, setup))
    trial_dirs = [d for d in exp.iterdir() if d.is_dir() and d.name.startswith("train_trial")]
    assert len(trial_dirs) == 2
    for trial in trial_dirs:
        results = [json.loads(line) for line in (trial / "result.json").read_text().splitlines()]
        assert [r["epoch"] for r in results] == [1.0]
        assert results[0]["on_gpu"] == 0  # asked for a GPU, none here: fell back to CPU
        assert np.isfinite(results[0]["val_loss"])
        assert list(trial.glob("checkpoint_*/state.pt"))


def test_rerun_refuses_without_resume_and_resume_does_not_publish_twice(tuned):
    setup, options, registry, row = tuned
    with pytest.raises(ConfigError, match="--resume"):
        tune_and_publish(setup, options, registry)
    resumed = TuneOptions(**{**options.__dict__, "resume": True})
    again = tune_and_publish(setup, resumed, registry)
    assert again.version == row.version
    assert again.test == row.test
    assert ModelRegistry(registry).versions("ETHUSDT", "cnn_lstm") == [row.version]


def test_failing_trials_are_retried_then_reported_not_published(ray_session, tmp_path, capsys):
    """Trials that cannot run (data gone after the driver's checks) are retried, then the
    (symbol, model) row says why and nothing is published."""
    setup = TrialSetup(
        data_path=str(tmp_path / "gone"), symbol="BTCUSDT", model="cnn_lstm", max_epochs=1
    )
    options = TuneOptions(
        storage=str(tmp_path / "results"), num_samples=2, cpus_per_trial=0.5, max_failures=1
    )
    row = tune_and_publish(setup, options, str(tmp_path / "registry"))
    assert row.version is None and row.test is None
    assert "no such file or directory" in row.error
    assert ModelRegistry(tmp_path / "registry").list_models() == {}
    out = capsys.readouterr().out
    assert out.count("failed (attempt 1); retrying from its last checkpoint") == 2
    assert out.count("ERROR after 2 attempt(s)") == 2
