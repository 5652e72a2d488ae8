"""scripts/submit_training.py builds a Jobs API submission that runs train.py on the cluster."""

from __future__ import annotations

import importlib.util
import shlex
from pathlib import Path

import pytest

from models.cli import UsageError

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "submit_training.py"


@pytest.fixture(scope="module")
def submit():
    spec = importlib.util.spec_from_file_location("submit_training", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_submission_carries_storage_registry_and_train_options(submit) -> None:
    args = submit.parse_args(
        [
            "--storage",
            "s3://b/tune",
            "--registry",
            "s3://b/reg",
            "--gpus",
            "1",
            "--",
            "--symbols",
            "BTCUSDT",
            "--gpus-per-trial",
            "0.5",
        ]
    )
    sub = submit.build_submission(args)
    command = shlex.split(sub["entrypoint"])
    assert command[:2] == ["python", "scripts/train.py"]
    assert command[command.index("--storage") + 1] == "s3://b/tune"
    assert command[command.index("--registry") + 1] == "s3://b/reg"
    assert command[-4:] == ["--symbols", "BTCUSDT", "--gpus-per-trial", "0.5"]
    assert Path(sub["runtime_env"]["working_dir"]) == SCRIPT.parents[1]
    assert ".git" in sub["runtime_env"]["excludes"]
    assert sub["entrypoint_num_gpus"] == 1.0


def test_cpu_only_submission_asks_for_no_gpu(submit) -> None:
    sub = submit.build_submission(submit.parse_args(["--storage", "/s", "--registry", "/r"]))
    assert "entrypoint_num_gpus" not in sub


def test_negative_resources_are_a_usage_error(submit) -> None:
    with pytest.raises(UsageError, match="--cpus"):
        submit.parse_args(["--storage", "/s", "--registry", "/r", "--cpus", "-1"])
