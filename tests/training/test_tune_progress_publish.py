"""Progress lines and the choice of the checkpoint to publish, with stand-in Tune objects."""

from __future__ import annotations

import math
import pickle
from types import SimpleNamespace

import pytest

from models.errors import ConfigError
from models.training.tune import TuneOptions
from models.training.tune_progress import TrialProgress, describe_config, epoch_line
from models.training.tune_publish import best_checkpoint


def test_describe_config_lists_the_sampled_knobs_in_order():
    config = {"seq_len": 32, "lr": 0.0012, "width": 16, "depth": 2, "dropout": 0.25, "setup": {}}
    assert describe_config(config) == "lr 1.20e-03 dropout 0.25 width 16 depth 2 seq_len 32"


def test_epoch_line_is_compact():
    result = {"epoch": 2.0, "train_loss": 1.1, "val_loss": 1.0712, "val_accuracy": 0.41}
    line = epoch_line("BTCUSDT/cnn_lstm", "abc_00001", {**result, "epoch_seconds": 3.21}, 5)
    assert line == (
        "[BTCUSDT/cnn_lstm] abc_00001 epoch 2/5  train_loss 1.1000  val_loss 1.0712  "
        "val_acc 0.4100  (3.2s)"
    )


def test_progress_callback_prints_and_pickles(capsys):
    callback = pickle.loads(pickle.dumps(TrialProgress("ETHUSDT/transformer", 3)))
    trial = SimpleNamespace(
        trial_id="t_00000",
        config={"lr": 0.001, "width": 16},
        num_failures=1,
        error_file="/x/error.txt",
        last_result={"epoch": 3.0, "best_val_loss": 1.05},
    )
    callback.on_trial_start(0, [], trial)
    callback.on_trial_result(0, [], trial, {"epoch": 1.0, "val_loss": 1.2})
    callback.on_trial_recover(0, [], trial)
    callback.on_trial_error(0, [], trial)
    callback.on_trial_complete(0, [], trial)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[ETHUSDT/transformer] t_00000 start  lr 1.00e-03 width 16"
    assert lines[1] == "[ETHUSDT/transformer] t_00000 epoch 1/3  val_loss 1.2000"
    assert "retrying from its last checkpoint" in lines[2]
    assert "ERROR after 1 attempt(s); see /x/error.txt" in lines[3]
    assert lines[4].endswith("done after 3 epoch(s), best val_loss 1.0500")


def _result(*losses: float, path: str = "/exp/train_trial_x"):
    kept = [(f"ckpt-{path}-{i}", {"val_loss": v}) for i, v in enumerate(losses)]
    return SimpleNamespace(best_checkpoints=kept, path=path, config={})


def test_best_checkpoint_is_the_lowest_finite_val_loss_over_all_trials():
    grid = [_result(1.10, 1.08, path="/e/a"), _result(math.nan, 1.05, 1.09, path="/e/b")]
    best = best_checkpoint(grid)
    assert best.checkpoint == "ckpt-/e/b-1"
    assert best.metrics["val_loss"] == 1.05
    assert best.trial_id == "b"


def test_ties_go_to_the_earlier_trial_and_nothing_usable_gives_none():
    tie = best_checkpoint([_result(1.0, path="/e/a"), _result(1.0, path="/e/b")])
    assert tie.trial_id == "a"
    assert best_checkpoint([_result(math.inf), SimpleNamespace(best_checkpoints=None)]) is None
    assert best_checkpoint([]) is None


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"num_samples": 0}, "num_samples"),
        ({"cpus_per_trial": 0.0}, "cpus_per_trial"),
        ({"gpus_per_trial": -0.5}, "gpus_per_trial"),
        ({"gpus_per_trial": 1.5}, "gpus_per_trial"),
        ({"max_failures": -1}, "max_failures"),
        ({"reduction_factor": 1}, "reduction_factor"),
        ({"name": "a/b"}, "name"),
    ],
)
def test_tune_options_name_the_bad_field(kw, field):
    with pytest.raises(ConfigError, match=field):
        TuneOptions(**kw)


def test_storage_uri_keeps_uris_and_absolutises_paths(tmp_path, monkeypatch):
    assert TuneOptions(storage="s3://bucket/tune/").storage_uri == "s3://bucket/tune"
    monkeypatch.chdir(tmp_path)
    assert TuneOptions(storage="rr").storage_uri == str(tmp_path / "rr")
