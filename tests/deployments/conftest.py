"""A running SmartMarket Serve app for the HTTP tests: started once per test session.

The app runs on the session's local Ray (``ray_session``) on a free port, with a temporary
state database and a temporary registry holding tiny transformer and CNN-LSTM models for
BTCUSDT, trained for one epoch on real candles. Other symbols have no neural model.
"""

from __future__ import annotations

import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from deployments.app import compose
from deployments.settings import AppSettings
from models.registry import ModelRegistry
from tests.conftest import SYMBOLS
from tests.deployments.fakes import failing_predictor, slow_predictor

APP_NAME = "smartmarket-test"
KEY_ENV = "SMARTMARKET_TEST_API_KEY"
SEQ = 24
TINY = {
    "transformer": {"d_model": 16, "nhead": 4, "num_layers": 1},
    "cnn_lstm": {"channels": 8, "hidden": 16, "lstm_layers": 1},
}
MAX_CANDLES = 2_000
MAX_BODY = 1024 * 1024
DEADLINE_S = 1.5
MODEL_SYMBOL = "BTCUSDT"


def candles_json(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Candles as the API takes them (ISO timestamps)."""
    rows = frame.select("timestamp", "open", "high", "low", "close", "volume").to_dicts()
    return [{**r, "timestamp": r["timestamp"].isoformat()} for r in rows]


@dataclass
class Trained:
    """The test registry and what is needed to publish another version."""

    root: Path
    publish: Any

    def versions(self, model: str) -> list[str]:
        return ModelRegistry(self.root).versions(MODEL_SYMBOL, model)


@pytest.fixture(scope="session")
def trained(btc: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    from models.training.artifacts import publish_result
    from models.training.dataset import prepare_symbol_data
    from models.training.loop import TrainConfig, train_model

    root = tmp_path_factory.mktemp("registry")
    data = prepare_symbol_data(btc.slice(8000, 2500), seq_len=SEQ)
    runs = {}
    for name, hparams in TINY.items():
        cfg = TrainConfig(
            model=name, hparams=hparams, max_epochs=1, batch_size=64, num_threads=1, use_amp=False
        )
        runs[name] = (cfg, train_model(cfg, data))

    def publish(name: str) -> str:
        cfg, result = runs[name]
        return publish_result(ModelRegistry(root), MODEL_SYMBOL, cfg, data, result)

    for name in TINY:
        publish(name)
    return Trained(root, publish)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServeApp:
    """The deployed app, its HTTP client and the means to redeploy it."""

    def __init__(self, serve: Any, registry: Path, state_db: Path, port: int) -> None:
        self.serve = serve
        self.key = secrets.token_hex(16)
        self.settings = AppSettings.parse(
            registry=str(registry),
            state_db=str(state_db),
            api_key_env=KEY_ENV,
            max_candles=MAX_CANDLES,
            max_body_bytes=MAX_BODY,
            deadline_s=DEADLINE_S,
            symbols=SYMBOLS,
        )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60.0)
        self.variant: str | None = None

    def predict(self, symbol: str, frame: pl.DataFrame) -> httpx.Response:
        """A prediction on candles the client sends (answered, never stored)."""
        return self.client.post(
            "/v1/predict", json={"symbol": symbol, "candles": candles_json(frame)}
        )

    def append(self, symbol: str, frame: pl.DataFrame) -> httpx.Response:
        """Store candles (a keyed write)."""
        body = {"candles": candles_json(frame)}
        return self.client.post(f"/v1/candles/{symbol}", json=body, headers=self.auth)

    def signal(self, symbol: str) -> httpx.Response:
        """The stored series' signal for the newest stored bar (stored, learned from)."""
        return self.client.post("/v1/predict", json={"symbol": symbol})

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def deploy(self, variant: str = "normal") -> None:
        """Deploy (or redeploy in place) the app; ``broken``: indicators fail, smc is slow;
        ``protected``: reads need the key too (``SMARTMARKET_PROTECT_READS=1``)."""
        light = {"ray_actor_options": {"num_cpus": 0.1}}
        options = {role: light for role in ("indicators", "smc", "regime", "state")}
        env = {KEY_ENV: self.key}
        if variant == "protected":
            env["SMARTMARKET_PROTECT_READS"] = "1"
        options["ingress"] = {
            "ray_actor_options": {"num_cpus": 0.1, "runtime_env": {"env_vars": env}}
        }
        replace = None
        if variant == "broken":
            replace = {"indicators": failing_predictor(), "smc": slow_predictor()}
            options = {k: v for k, v in options.items() if k not in replace}
        app = compose(self.settings, replace=replace, options=options)
        self.serve.run(app, name=APP_NAME, route_prefix="/")
        self.variant = variant
        self._wait_ready()

    def restart(self, variant: str = "normal") -> None:
        """Delete the whole app (every replica stops), then deploy it again."""
        self.serve.delete(APP_NAME)
        self.variant = None
        self.deploy(variant)

    def _wait_ready(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if self.client.get("/v1/models", headers=self.auth).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"the Serve app did not answer within {timeout_s:.0f} s")


@pytest.fixture(scope="session")
def serve_app(ray_session, trained: Trained, tmp_path_factory: pytest.TempPathFactory):
    serve = pytest.importorskip("ray.serve")
    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    app = ServeApp(serve, trained.root, tmp_path_factory.mktemp("state") / "state.db", port)
    app.deploy()
    yield app
    app.client.close()
    serve.delete(APP_NAME)
    serve.shutdown()


@pytest.fixture
def api(serve_app: ServeApp) -> ServeApp:
    """The app in its normal form (redeployed if a previous test left it broken)."""
    if serve_app.variant != "normal":
        serve_app.deploy("normal")
    return serve_app
