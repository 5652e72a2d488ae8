"""Fixtures of the reliability tests: a tiny trained model registry and the app to hurt."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from tests.reliability.harness import Registry, ReliabilityApp, candles_json, serve_http_port

MODEL = "cnn_lstm"
MODEL_SYMBOL = "BTCUSDT"


@pytest.fixture(scope="session")
def rel_registry(btc: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """A registry holding one CNN-LSTM for BTCUSDT, trained briefly on real candles."""
    from models.registry import ModelRegistry
    from models.training.artifacts import publish_result
    from models.training.dataset import prepare_symbol_data
    from models.training.loop import TrainConfig, train_model

    root = tmp_path_factory.mktemp("rel_registry")
    data = prepare_symbol_data(btc.slice(8000, 2000), seq_len=24)
    cfg = TrainConfig(
        model=MODEL,
        hparams={"channels": 8, "hidden": 16, "lstm_layers": 1},
        max_epochs=1,
        batch_size=64,
        num_threads=1,
        use_amp=False,
        max_batches_per_epoch=4,
    )
    result = train_model(cfg, data)

    def publish() -> str:
        return publish_result(ModelRegistry(root), MODEL_SYMBOL, cfg, data, result)

    publish()
    return Registry(root, MODEL_SYMBOL, MODEL, publish)


@pytest.fixture(scope="package")
def rel_app(ray_session, rel_registry: Registry, tmp_path_factory: pytest.TempPathFactory):
    """The reliability app, deployed once for this directory (tests that break it restore
    it) and deleted after it, so later tests get the Ray CPUs it held back."""
    from ray import serve

    port, started_here = serve_http_port()
    state_db = tmp_path_factory.mktemp("rel_state") / "state.db"
    app = ReliabilityApp(rel_registry, state_db, port)
    app.deploy()
    yield app
    app.close()
    if started_here:
        serve.shutdown()


@pytest.fixture
def app(rel_app: ReliabilityApp) -> ReliabilityApp:
    """The app as the tests expect it: healthy, no delay injected, reads open."""
    if rel_app.protect_reads:
        rel_app.deploy(protect_reads=False)
    rel_app.set_delay(0.0)
    rel_app.wait_healthy()
    return rel_app


@pytest.fixture(scope="session")
def window(btc: pl.DataFrame) -> list[dict[str, Any]]:
    """A real 256-candle BTC request body's candles."""
    return candles_json(btc.slice(15000, 256))
