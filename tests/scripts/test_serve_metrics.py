"""scripts/serve.py for real: it starts, says where it listens, answers on Serve's proxy and
on the ingress replica's own port, exposes its metrics and stops on SIGINT.

Starts the real service (its own local Ray: one start for all of it, the costliest step of
these tests) with a registry holding a tiny BTCUSDT transformer, sends candles, predictions
and an outcome over HTTP on 127.0.0.1, then scrapes ``/metrics`` until the service's own
series show the values those requests imply.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

import httpx
import polars as pl
import pytest

from models.predictors.registry import trained_names
from tests.scripts.processes import start_until

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "serve.py"
KEY = "metrics-test-key"
SYMBOL = "BTCUSDT"
PREDICTIONS = 3
HISTORY = 600


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _candles(frame: pl.DataFrame) -> list[dict]:
    rows = frame.select("timestamp", "open", "high", "low", "close", "volume").to_dicts()
    return [{**r, "timestamp": r["timestamp"].isoformat()} for r in rows]


def _tiny_registry(btc: pl.DataFrame, root: Path) -> None:
    from models.registry import ModelRegistry
    from models.training.artifacts import publish_result
    from models.training.dataset import prepare_symbol_data
    from models.training.loop import TrainConfig, train_model

    data = prepare_symbol_data(btc.slice(8000, 1500), seq_len=24)
    hparams = {"d_model": 16, "nhead": 4, "num_layers": 1}
    cfg = TrainConfig(
        model="transformer", hparams=hparams, max_epochs=1, batch_size=64, num_threads=1,
        use_amp=False,
    )  # fmt: skip
    publish_result(ModelRegistry(root), SYMBOL, cfg, data, train_model(cfg, data))


def _value(text: str, name: str, **tags: str) -> float | None:
    """Sum of the samples of ``name`` whose labels include ``tags``."""
    total, found = 0.0, False
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in tags.items()):
            total, found = total + float(match.group(2)), True
    return total if found else None


def _exercise(client: httpx.Client, btc: pl.DataFrame) -> list[str]:
    """Store history; then ``PREDICTIONS`` times the stored signal of the newest bar and the
    next bar; then the bars that resolve every signal."""
    auth = {"Authorization": f"Bearer {KEY}"}

    def append(frame: pl.DataFrame) -> httpx.Response:
        body = {"candles": _candles(frame)}
        return client.post(f"/v1/candles/{SYMBOL}", json=body, headers=auth)

    assert append(btc.slice(9000, HISTORY)).status_code == 201
    ids = []
    for k in range(PREDICTIONS):
        reply = client.post("/v1/predict", json={"symbol": SYMBOL})
        assert reply.status_code == 200, reply.text
        assert reply.json()["models"]["transformer"]["status"] == "ok"
        ids.append(reply.json()["prediction_id"])
        assert append(btc.slice(9000 + HISTORY + k, 1)).status_code == 201
    done = append(btc.slice(9000 + HISTORY + PREDICTIONS, 4))
    assert done.status_code == 201 and len(done.json()["resolved"]) == PREDICTIONS, done.text
    return ids


def _direct_ingress(out: str) -> str:
    """The URL of the script's ``direct ingress`` line."""
    lines = [line for line in out.splitlines() if "direct ingress" in line]
    assert lines, out
    return lines[0].split()[-1]


@pytest.mark.slow
def test_serve_answers_exposes_the_service_metrics_and_stops_on_sigint(btc, tmp_path):
    _tiny_registry(btc, tmp_path / "registry")
    port, metrics_port = _free_port(), _free_port()
    tmpdir = tempfile.mkdtemp(prefix="rm", dir="/tmp")
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(RAY_AUTH_MODE="disabled", RAY_TMPDIR=tmpdir, SMARTMARKET_API_KEY=KEY)
    cmd = [
        sys.executable, str(SCRIPT), "--registry", str(tmp_path / "registry"), "--port",
        str(port), "--state-db", str(tmp_path / "state.db"), "--num-cpus", "2",
        "--metrics-port", str(metrics_port),
    ]  # fmt: skip
    proc, out = start_until(cmd, env, "metrics: http")
    try:
        assert f"metrics: http://127.0.0.1:{metrics_port}/metrics" in out, out
        assert f"listening on http://127.0.0.1:{port}" in out, out
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        # throughput-optimised mode (the script's default): the ingress replica's own port
        direct = _direct_ingress(out)
        assert direct.startswith("http://127.0.0.1:") and direct != f"http://127.0.0.1:{port}"
        assert httpx.get(f"{direct}/healthz", timeout=30).json() == health.json()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            _exercise(client, btc)
        expected = {
            ("ray_smartmarket_predictions_total", (("symbol", SYMBOL),)): PREDICTIONS,
            ("ray_smartmarket_confidence_count", (("symbol", SYMBOL),)): PREDICTIONS,
            ("ray_smartmarket_model_replies_total", (("model", "transformer"),)): PREDICTIONS,
            # every trained predictor but the transformer has no model here
            ("ray_smartmarket_model_replies_total", (("status", "no_model"),)): PREDICTIONS
            * (len(trained_names()) - 1),
            ("ray_smartmarket_model_latency_ms_count", (("model", "smc"),)): PREDICTIONS,
            ("ray_smartmarket_outcomes_resolved_total", (("source", "candles"),)): PREDICTIONS,
            ("ray_smartmarket_model_loads_total", (("model", "transformer"),)): 1,
            ("ray_smartmarket_model_cache_hits_total", (("model", "transformer"),)): 2,
        }
        seen: dict = {}
        text = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:  # the exporter may still be starting
                text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
            except httpx.TransportError:
                time.sleep(2)
                continue
            seen = {k: _value(text, k[0], **dict(k[1])) for k in expected}
            if seen == expected:
                break
            time.sleep(2)
        assert seen == expected
        ok = _value(text, "ray_smartmarket_model_replies_total", model="transformer", status="ok")
        assert ok == PREDICTIONS  # the tiny model answered; cnn_lstm and lgbm: no_model
        age = _value(text, "ray_smartmarket_model_age_seconds", symbol=SYMBOL, model="transformer")
        assert age is not None and 0 <= age < 900
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(tmpdir, ignore_errors=True)
