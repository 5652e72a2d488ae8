"""The trial's pieces without Ray: setup validation, data bounds, device fallback, state files."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import pytest
import torch
from ray import tune

from models.errors import ConfigError
from models.training.tune_trial import (
    STATE_FILE,
    TrialSetup,
    bound_candles,
    load_state,
    load_trial_data,
    save_state,
    train_config,
    trial_device,
)


def _setup(**kw) -> TrialSetup:
    return TrialSetup(**{"data_path": "/data", "symbol": "BTCUSDT", "model": "cnn_lstm", **kw})


def test_setup_round_trips_through_a_plain_dict():
    setup = _setup(max_rows=500, start="2022-01-01", gpus=0.5)
    assert TrialSetup.from_dict(setup.to_dict()) == setup
    assert setup.label_cfg.horizon == 4


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"max_rows": 0}, "max_rows"),
        ({"gpus": -1.0}, "gpus"),
        ({"start": "yesterday"}, "start"),
        ({"end": "2022-13-01"}, "end"),
        ({"label": {"horizon": 0, "flat_k": 0.4, "vol_window": 48}}, "horizon"),
    ],
)
def test_bad_setup_values_name_the_field(kw, field):
    with pytest.raises(ConfigError, match=field):
        _setup(**kw)


def test_unknown_setup_keys_are_refused():
    with pytest.raises(ConfigError, match="unknown keys"):
        TrialSetup.from_dict({**_setup().to_dict(), "epochs": 3})


def test_bound_candles_window_then_tail(btc):
    setup = _setup(start="2022-01-01", end="2022-02-01T00:00:00Z", max_rows=100)
    out = bound_candles(btc, setup)
    before_end = btc.filter(btc["timestamp"] < datetime(2022, 2, 1, tzinfo=timezone.utc))
    assert out.height == 100
    assert out["timestamp"].max() == before_end["timestamp"].max()  # the LAST rows are kept
    everything = bound_candles(btc, _setup(start="2022-01-01", end="2022-02-01"))
    assert everything["timestamp"].min() >= datetime(2022, 1, 1, tzinfo=timezone.utc)
    assert everything.height > 700


def test_trial_loads_its_own_bounded_data(real_data_dir):
    setup = _setup(data_path=str(real_data_dir), symbol="SOLUSDT", max_rows=2000)
    data = load_trial_data(setup, 16)
    total = len(data.train) + len(data.val) + len(data.test)
    assert 1000 < total < 2000  # warm-up and embargoes take the rest
    assert 1900 < data.test.ends.max() < 2000  # row indices within the bounded frame
    assert data.seq_len == 16 and data.data_window["test"]["samples"] == len(data.test)


def test_gpu_request_falls_back_to_cpu_and_says_so(caplog, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="models.training.tune_trial"):
        assert trial_device(0.5) == "cpu"
    assert "asked for 0.5 GPU but none is visible" in caplog.text
    assert trial_device(0.0) == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert trial_device(1.0) == "cuda"


def test_train_config_takes_sampled_and_fixed_settings():
    setup = _setup(max_epochs=7, patience=2, batch_size=32, max_batches_per_epoch=5, seed=3)
    sampled = {"lr": 1e-3, "dropout": 0.2, "width": 16, "depth": 1, "seq_len": 16}
    cfg = train_config(setup, sampled, "cpu")
    assert (cfg.lr, cfg.max_epochs, cfg.patience, cfg.batch_size) == (1e-3, 7, 2, 32)
    assert cfg.max_batches_per_epoch == 5 and cfg.seed == 3 and cfg.device == "cpu"
    assert cfg.hparams == {"channels": 16, "hidden": 16, "lstm_layers": 1, "dropout": 0.2}


def test_state_round_trips_through_a_checkpoint_directory(tmp_path):
    state = {"epoch": 2, "model": {"w": torch.arange(4.0)}, "history": [{"val_loss": 1.0}]}
    save_state(tmp_path, state)
    loaded = load_state(tune.Checkpoint.from_directory(tmp_path))
    assert loaded["epoch"] == 2 and torch.equal(loaded["model"]["w"], torch.arange(4.0))
    (tmp_path / STATE_FILE).unlink()
    with pytest.raises(ConfigError, match=STATE_FILE):
        load_state(tune.Checkpoint.from_directory(tmp_path))
