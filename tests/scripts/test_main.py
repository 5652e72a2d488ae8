"""The main job end to end: real data -> Tune-trained tiny models -> Serve -> one signal."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "scripts" / "main.py"


def run_main(
    *options: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(MAIN), *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "RAY_AUTH_MODE": "disabled", **(env or {})},
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--port", "0"], "--port"),
        (["--max-epochs", "0"], "--max-epochs"),
        (["--startup-timeout", "-1"], "--startup-timeout"),
        (["--data", "/nonexistent/candles"], "--data"),
    ],
)
def test_user_mistakes_give_one_clear_line(options: list[str], message: str) -> None:
    result = run_main(*options)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_no_local_data_and_no_network_says_which_of_the_two_to_do(tmp_path: Path) -> None:
    empty = tmp_path / "nothing"
    empty.mkdir()
    result = run_main(
        "--download-dir", str(tmp_path / "download"),
        "--base-url", f"http://127.0.0.1:{free_port()}",
        env={"SMARTMARKET_DATA": str(empty)},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "connect this machine to the internet" in result.stderr
    assert "--data DIR" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_main_job_trains_serves_and_shows_a_signal(real_data_dir: Path, tmp_path: Path) -> None:
    result = run_main(
        "--once", "--data", str(real_data_dir), "--symbols", "BTCUSDT",
        "--registry", str(tmp_path / "registry"), "--storage", str(tmp_path / "tune"),
        "--state-db", str(tmp_path / "state" / "db.sqlite"), "--port", str(free_port()),
        "--max-epochs", "1", "--train-rows", "3000", "--batches-per-epoch", "5",
        timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "==> 4/4 one live signal" in out
    assert "this run's API key (needed for writes): smk-" in out  # writes fail closed
    assert "BTCUSDT as of" in out
    # every member answers (the request carries lgbm's 720-bar window) and the first bar of
    # a service that learned nothing is combined by the combiner published after training
    assert "transformer=ok" in out and "cnn_lstm=ok" in out and "lgbm=ok" in out
    assert "combined with the combiner published with the models" in out
    for model in ("transformer", "lgbm", "combiner"):
        assert (tmp_path / "registry" / "BTCUSDT" / model / "LATEST").exists()
