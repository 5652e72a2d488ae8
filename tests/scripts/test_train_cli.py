"""scripts/train.py as a user runs it: clear errors for mistakes, and Ctrl+C then --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from models.registry import ModelRegistry

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "train.py"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_AUTH_MODE"] = "disabled"
    return env


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
    )


def _assert_usage_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--models", "gru"], ["--models", "invalid choice: 'gru'"]),
        (["--num-samples", "0"], ["--num-samples", "must be >= 1"]),
        (["--cpus-per-trial", "-1"], ["--cpus-per-trial", "must be > 0"]),
        (["--gpus-per-trial", "half"], ["--gpus-per-trial", "not a number"]),
        (["--max-epochs", "2.5"], ["--max-epochs", "not an integer"]),
        (["--val-frac", "1.2"], ["--val-frac", "must be below 1"]),
        (["--lgbm-variant", "both"], ["--lgbm-variant", "invalid choice: 'both'"]),
        (["--lgbm-threads", "0"], ["--lgbm-threads", "must be >= 1"]),
    ],
)
def test_bad_numbers_and_names_are_usage_errors(args, needles):
    _assert_usage_error(_run(*args), *needles)


def test_missing_data_path(tmp_path):
    missing = tmp_path / "nowhere"
    _assert_usage_error(_run("--data", str(missing)), "error: --data:", "does not exist")


def test_unknown_symbol_lists_the_available_ones(real_data_dir):
    proc = _run("--data", str(real_data_dir), "--symbols", "BTCUSDT", "NOPEUSDT")
    _assert_usage_error(proc, "unknown symbol(s) NOPEUSDT", "available: ADAUSDT")


def test_too_few_rows_and_bad_dates_are_named(real_data_dir):
    base = ["--data", str(real_data_dir), "--symbols", "BTCUSDT"]
    _assert_usage_error(_run(*base, "--max-rows", "200"), "BTCUSDT: too few candles")
    _assert_usage_error(_run(*base, "--start", "last tuesday"), "start: not an ISO date")
    _assert_usage_error(
        _run(*base, "--val-frac", "0.5", "--test-frac", "0.5"), "--val-frac + --test-frac"
    )
    lgbm = ["--data", str(real_data_dir), "--symbols", "ETHUSDT", "--models", "lgbm"]
    _assert_usage_error(_run(*lgbm, "--max-rows", "900"), "ETHUSDT: too few candles for lgbm")


def test_existing_run_needs_resume_or_a_new_name(real_data_dir, tmp_path):
    exp = tmp_path / "rr" / "smartmarket" / "BTCUSDT-cnn_lstm"
    exp.mkdir(parents=True)
    (exp / "tuner.pkl").write_bytes(b"")  # what Tuner.can_restore looks for
    proc = _run(
        *("--data", str(real_data_dir), "--symbols", "BTCUSDT", "--models", "cnn_lstm"),
        *("--storage", str(tmp_path / "rr")),
    )
    _assert_usage_error(proc, "already has experiments", "--resume")


def _epochs(experiment: Path) -> list[float]:
    (trial,) = [d for d in experiment.iterdir() if d.name.startswith("train_trial")]
    lines = (trial / "result.json").read_text().splitlines()
    return [json.loads(line)["epoch"] for line in lines]


@pytest.mark.slow
def test_interrupted_run_resumes_from_its_checkpoints(real_data_dir, tmp_path):
    """Ctrl+C mid-search publishes nothing; --resume continues the same trial to the end."""
    epochs = 16
    args = [
        *("--data", str(real_data_dir), "--symbols", "LTCUSDT", "--models", "cnn_lstm"),
        *("--small", "--num-samples", "1", "--max-rows", "4000", "--batch-size", "64"),
        *("--max-epochs", str(epochs), "--patience", str(epochs), "--num-cpus", "1"),
        *("--storage", str(tmp_path / "rr"), "--registry", str(tmp_path / "reg")),
    ]
    experiment = tmp_path / "rr" / "smartmarket" / "LTCUSDT-cnn_lstm"
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    deadline = time.monotonic() + 180
    while not list(experiment.glob("train_trial_*/checkpoint_000001")):
        assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    assert "interrupted; continue with --resume" in out
    done_before = _epochs(experiment)
    assert 2 <= len(done_before) < epochs, out
    assert ModelRegistry(tmp_path / "reg").list_models() == {}

    resumed = _run(*args, "--resume", timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resuming experiment" in resumed.stdout
    # continued after its last checkpoint, none skipped. A report can land in the trial's
    # result log just before Ctrl+C while its checkpoint is not yet in the saved experiment
    # state; Tune then replays that one epoch (at-least-once), so at most the epoch that was
    # in flight appears twice, and never epoch 1 (that would be a restart from scratch).
    reported = _epochs(experiment)
    assert sorted(set(reported)) == [float(e) for e in range(1, epochs + 1)]
    repeated = sorted({e for e in reported if reported.count(e) > 1})
    assert len(reported) - epochs == len(repeated) <= 1, reported
    assert all(e > done_before[0] for e in repeated), reported
    versions = ModelRegistry(tmp_path / "reg").versions("LTCUSDT", "cnn_lstm")
    assert len(versions) == 1
    assert "Training summary" in resumed.stdout and versions[0] in resumed.stdout
