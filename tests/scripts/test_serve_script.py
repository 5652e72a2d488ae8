"""scripts/serve.py: flags over the config file and clear usage errors (its real start, answers
and stop on SIGINT: ``test_serve_metrics.py``, which starts it once for all of them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "serve.py"
LOCAL_CONFIG = ROOT / "configs" / "serve_local.yaml"


def _env(key: str | None = "serve-script-test-key") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "SMARTMARKET_API_KEY")}
    env["RAY_AUTH_MODE"] = "disabled"
    if key is not None:
        env["SMARTMARKET_API_KEY"] = key
    return env


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
