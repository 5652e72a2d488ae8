"""scripts/evaluate.py as a user runs it: clear refusals, and a quick run end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.evaluation.tiny_model import train_tiny_registry

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "evaluate.py"


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, btc) -> Path:
    return train_tiny_registry(tmp_path_factory.mktemp("registry"), btc)


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout
    )


def assert_refused(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_evaluating_a_model_on_bars_it_was_trained_on_is_refused(registry, real_data_dir, tmp_path):
    proc = run(
        "--data", str(real_data_dir), "--registry", str(registry), "--symbols", "BTCUSDT",
        "--start", "2021-12-01", "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert_refused(proc, "'cnn_lstm'", "BTCUSDT", "2022-0", "requested start 2021-12-01")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--data", "/nonexistent/candles"], ["--data", "does not exist"]),
        (["--start", "last tuesday"], ["--start", "not an ISO"]),
        (["--start", "2023-05-01", "--end", "2023-04-01"], ["is not before --end"]),
        (["--costs-bps", "-5"], ["--costs-bps", "must be >= 0"]),
        (["--book-costs-bps", "-1"], ["--book-costs-bps", "must be >= 0"]),
        (["--trading-config", "/nonexistent.yaml"], ["trading config", "does not exist"]),
        (["--symbols", "NOPEUSDT"], ["NOPEUSDT"]),
    ],
)
def test_bad_arguments_are_one_line_errors(args, needles, real_data_dir, tmp_path):
    assert_refused(run("--data", str(real_data_dir), "--out", str(tmp_path), *args), *needles)


def test_a_horizon_the_model_was_not_trained_for_is_refused(registry, real_data_dir, tmp_path):
    proc = run(
        "--data", str(real_data_dir), "--registry", str(registry), "--symbols", "BTCUSDT",
        "--horizon", "8", "--out", str(tmp_path),
    )  # fmt: skip
    assert_refused(proc, "--horizon 4")


@pytest.mark.slow
def test_quick_run_writes_the_report(registry, real_data_dir, tmp_path):
    out = tmp_path / "report"
    proc = run(
        "--data", str(real_data_dir), "--registry", str(registry), "--symbols", "BTCUSDT",
        "ETHUSDT", "--quick", "--draws", "20", "--jobs", "1", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "[BTCUSDT] cnn_lstm:" in proc.stderr  # progress on stderr
    report = (out / "report.md").read_text()
    assert "## The original's claims, measured" in report
    assert "## From signal to position: the books" in report
    assert "books, pooled, 10 bps round trip" in proc.stdout
    assert "cnn_lstm (v" in report and "no trained model for ETHUSDT" in report
    for name in ("classification", "strategy", "null", "calibration", "claims", "book"):
        assert (out / f"{name}.csv").stat().st_size > 0
    for png in out.glob("*.png"):
        assert png.stat().st_size < 150_000, png
    pngs = {p.name for p in out.glob("*.png")}
    assert pngs == {"equity.png", "reliability.png", "confidence.png", "weights.png"}
