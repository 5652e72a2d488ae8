"""scripts/serve.py: flags over the config file, clear usage errors, and a real start/stop."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.scripts.processes import start_until

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "serve.py"
LOCAL_CONFIG = ROOT / "configs" / "serve_local.yaml"


def _env(tmpdir: str | None = None, key: str | None = "serve-script-test-key") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "SMARTMARKET_API_KEY")}
    env["RAY_AUTH_MODE"] = "disabled"
    if key is not None:
        env["SMARTMARKET_API_KEY"] = key
    if tmpdir is not None:
        env["RAY_TMPDIR"] = tmpdir  # this Ray instance's files apart from any other
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(*args: str, key: str | None = "serve-script-test-key") -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(SCRIPT), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=_env(key=key))


def test_without_a_key_it_refuses_to_start_and_says_how(tmp_path):
    proc = _run("--registry", str(tmp_path), "--state-db", str(tmp_path / "s.db"), key=None)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "$SMARTMARKET_API_KEY is empty" in proc.stderr and "allow_open_writes" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "--registry is required"),
        (("--registry", "r", "--state-db", "/nonexistent/dir/s.db"), "--state-db"),
        (("--registry", "r", "--config", "missing.yaml"), "missing.yaml does not exist"),
        (("--registry", "r", "--metrics-port", "70000"), "--metrics-port: must be 1-65535"),
    ],
)
def test_usage_errors_are_one_line(args, needle):
    proc = _run(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert needle in proc.stderr and "Traceback" not in proc.stderr


def test_flags_override_the_config_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SMARTMARKET_API_KEY", "serve-script-test-key")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import serve as serve_script
    finally:
        sys.path.pop(0)
    args = serve_script.parse_args(
        ["--config", str(LOCAL_CONFIG), "--registry", str(tmp_path), "--state-db",
         str(tmp_path / "s.db")]
    )  # fmt: skip
    config, settings = serve_script.resolve(args)
    assert settings.registry == str(tmp_path) and settings.state_db == str(tmp_path / "s.db")
    assert settings.window_bars == 512 and config.port == 8000
    assert config.options["state"]["num_replicas"] == 1
    assert config.options["transformer"]["user_config"]["max_batch_size"] == 32


@pytest.mark.slow
def test_starts_answers_and_stops_on_sigint(tmp_path):
    port = _free_port()
    tmpdir = tempfile.mkdtemp(prefix="rs", dir="/tmp")
    cmd = [
        sys.executable, str(SCRIPT), "--registry", str(tmp_path / "registry"), "--port",
        str(port), "--state-db", str(tmp_path / "state.db"), "--num-cpus", "2",
    ]  # fmt: skip
    proc, out = start_until(cmd, _env(tmpdir), "listening on")
    try:
        assert f"listening on http://127.0.0.1:{port}" in out, out
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        # throughput-optimised mode (the script's default): the ingress replica's own port
        direct = proc.stdout.readline()
        assert "direct ingress" in direct, direct
        url = direct.split()[-1]
        assert url.startswith("http://127.0.0.1:") and url != f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/healthz", timeout=30).json() == health.json()
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(tmpdir, ignore_errors=True)
