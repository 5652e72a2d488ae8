"""Both neural predictors: train briefly on real data, predict, publish, reload, same answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from models.errors import ConfigError, CorruptModelError, InsufficientDataError
from models.features.model_features import MAX_LOOKBACK
from models.predictors import create_predictor, predictor_class
from models.predictors.neural import NeuralPredictor
from models.registry import ModelRegistry
from models.training.artifacts import publish_result
from models.training.dataset import PreparedData, prepare_symbol_data
from models.training.loop import TrainConfig, train_model
from models.training.metrics import predict_proba

SEQ = 24
SMALL = {
    "transformer": {"d_model": 16, "nhead": 4, "num_layers": 1, "use_financial_attention": True},
    "cnn_lstm": {"channels": 8, "hidden": 16, "lstm_layers": 1},
}


@pytest.fixture(scope="module")
def candles(btc: pl.DataFrame) -> pl.DataFrame:
    return btc.slice(8000, 2500)


@pytest.fixture(scope="module")
def data(candles: pl.DataFrame) -> PreparedData:
    return prepare_symbol_data(candles, seq_len=SEQ)


def _window(candles: pl.DataFrame, end_row: int, bars: int) -> pl.DataFrame:
    return candles.slice(end_row + 1 - bars, bars)


@pytest.mark.parametrize("name", ["transformer", "cnn_lstm"])
def test_fit_predict_publish_reload(
    name: str, candles: pl.DataFrame, data: PreparedData, tmp_path: Path
) -> None:
    cfg = TrainConfig(model=name, hparams=SMALL[name], max_epochs=1, batch_size=64, num_threads=1)
    result = train_model(cfg, data)
    registry = ModelRegistry(tmp_path)
    version = publish_result(registry, "BTCUSDT", cfg, data, result)
    fresh = NeuralPredictor.from_artifact(registry.load("BTCUSDT", name), device="cpu")
    loaded = create_predictor(name, artifact=registry.load("BTCUSDT", name), device="cpu")
    assert isinstance(loaded, predictor_class(name)) and loaded.min_bars == SEQ + MAX_LOOKBACK
    artifact = registry.load("BTCUSDT", name)
    assert artifact.manifest["data_window"] == data.data_window
    assert set(artifact.metrics["baselines"]["test"]) == {"majority", "always_flat", "momentum"}
    assert artifact.config["label"] == data.label_cfg.to_dict()

    ends = data.test.ends[[0, 5, 50]]
    windows = [_window(candles, e, loaded.min_bars + 10 * i) for i, e in enumerate(ends)]
    batch = loaded.predict_batch(windows)
    singles = [loaded.predict(w) for w in windows]
    # The trained model, the reloaded one and the generic class agree exactly.
    trained = predict_proba(result.model, np.stack([loaded.inputs(w) for w in windows]))
    np.testing.assert_array_equal(trained, loaded.predict_proba(windows))
    np.testing.assert_array_equal(fresh.predict_proba(windows), loaded.predict_proba(windows))
    for b, s, t in zip(batch, singles, trained, strict=True):
        np.testing.assert_allclose(b.probabilities, t, rtol=0, atol=1e-6)
        np.testing.assert_allclose(b.probabilities, s.probabilities, rtol=0, atol=1e-6)
        top, second = sorted(b.probabilities, reverse=True)[:2]
        assert b.confidence == pytest.approx(top - second)
        assert (b.model, b.version, b.horizon_bars) == (name, version, 4)
    # Serving sees the same inputs the network was trained on (to EMA-seed rounding).
    np.testing.assert_allclose(
        np.stack([loaded.inputs(w) for w in windows]), data.test.X[[0, 5, 50]], atol=1e-3
    )


def test_window_checks_and_wrong_artifact(data: PreparedData, tmp_path: Path) -> None:
    cfg = TrainConfig(
        model="cnn_lstm",
        hparams=SMALL["cnn_lstm"],
        max_epochs=1,
        num_threads=1,
        max_batches_per_epoch=2,
    )
    registry = ModelRegistry(tmp_path)
    publish_result(registry, "BTCUSDT", cfg, data, train_model(cfg, data))
    artifact = registry.load("BTCUSDT", "cnn_lstm")
    with pytest.raises(ConfigError, match="model"):
        create_predictor("transformer", artifact=artifact)
    predictor = predictor_class("cnn_lstm").from_registry(tmp_path, "BTCUSDT", device="cpu")
    assert predictor.version == artifact.version and predictor.predict_batch([]) == []
    with pytest.raises(InsufficientDataError, match=str(predictor.min_bars)):
        predictor.predict(pl.DataFrame({"close": [1.0] * 10}))
    bad_state = {k: torch.zeros(1) for k in artifact.state_dict}
    broken = type(artifact)(**{**artifact.__dict__, "state_dict": bad_state})
    with pytest.raises(CorruptModelError, match=r"weights\.pt"):
        NeuralPredictor(broken)


@pytest.fixture(scope="module")
def published(candles: pl.DataFrame, data: PreparedData, tmp_path_factory) -> ModelRegistry:
    """Both networks briefly trained on real data (the transformer at its default width,
    where bf16 matters) in one registry."""
    registry = ModelRegistry(tmp_path_factory.mktemp("precision"))
    hparams = {"transformer": {"d_model": 64, "nhead": 4, "num_layers": 2}, **SMALL}
    for name in ("transformer", "cnn_lstm"):
        cfg = TrainConfig(model=name, hparams=hparams[name], max_epochs=1, batch_size=64,
                          max_batches_per_epoch=10, num_threads=1)  # fmt: skip
        publish_result(registry, "BTCUSDT", cfg, data, train_model(cfg, data))
    return registry


def test_bf16_transformer_agrees_with_float32_on_real_windows(
    published: ModelRegistry, candles: pl.DataFrame, data: PreparedData
) -> None:
    exact = NeuralPredictor.from_registry(published, "BTCUSDT", "transformer", device="cpu")
    fast = NeuralPredictor.from_registry(
        published, "BTCUSDT", "transformer", device="cpu", precision="bfloat16"
    )
    assert next(fast.network.parameters()).dtype == torch.bfloat16
    assert next(exact.network.parameters()).dtype == torch.float32
    windows = [_window(candles, int(e), exact.min_bars) for e in data.test.ends[:64]]
    p32, p16 = exact.predict_proba(windows), fast.predict_proba(windows)
    assert p16.dtype == np.float64 and np.allclose(p16.sum(axis=1), 1.0)
    assert np.abs(p16 - p32).max() < 0.02
    assert (p16.argmax(axis=1) == p32.argmax(axis=1)).mean() >= 0.9


def test_cnn_lstm_stays_float32_whatever_the_precision(published: ModelRegistry) -> None:
    for precision in ("auto", "bfloat16"):
        p = NeuralPredictor.from_registry(
            published, "BTCUSDT", "cnn_lstm", device="cpu", precision=precision
        )
        assert all(w.dtype == torch.float32 for w in p.network.parameters())


def test_unknown_precision_is_a_config_error(published: ModelRegistry) -> None:
    with pytest.raises(ConfigError, match="precision"):
        NeuralPredictor.from_registry(
            published, "BTCUSDT", "transformer", device="cpu", precision="fp8"
        )


def test_publish_brief_models_publishes_every_network(data: PreparedData, tmp_path: Path) -> None:
    from models.training.artifacts import publish_brief_models

    registry = ModelRegistry(tmp_path)
    publish_brief_models(registry, "BTCUSDT", data, SMALL, max_batches=2)
    for name in SMALL:
        predictor = NeuralPredictor.from_registry(registry, "BTCUSDT", name, device="cpu")
        assert predictor.model_name == name and predictor.seq_len == SEQ
