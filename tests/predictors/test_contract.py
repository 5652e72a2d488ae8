"""The predictor contract, checked for every registered predictor (a new one gets it free).

For each entry of :data:`models.predictors.registry.PREDICTORS`: a window of exactly
``min_bars`` predicts (one bar fewer is :class:`InsufficientDataError`); ``predict_batch``
equals ``predict`` window by window; the predictions over a frame are prefix-causal (the
indicator columns computed on the frame included); a frame that is not candles raises one
of our errors. Trained kinds are built from a tiny model trained here on real candles:
:data:`TINY_MODELS` holds one builder per kind.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from models.errors import InsufficientDataError, SmartMarketError
from models.features.indicators import ensure_indicators
from models.predictors.base import Prediction, Predictor, create_predictor, predictor_class
from models.predictors.registry import PREDICTORS, Kind, predictor_entry
from models.registry import ModelRegistry
from models.vocabulary import CLASSES
from tests.causality import assert_prefix_causal
from tests.predictors.tiny_trees import publish_tiny_lgbm

SYMBOL = "BTCUSDT"
SEQ = 16


def _tiny_neural(name: str, candles: pl.DataFrame, root: Path) -> Predictor:
    """A network of the smallest width and depth the Tune search maps, one short epoch."""
    from models.predictors.networks import NETWORKS
    from models.training.artifacts import publish_result
    from models.training.dataset import prepare_symbol_data
    from models.training.loop import TrainConfig, train_model

    data = prepare_symbol_data(candles, seq_len=SEQ)
    hparams = NETWORKS[name].search_hparams(width=8, depth=1, dropout=0.0)
    cfg = TrainConfig(
        model=name,
        hparams=hparams,
        max_epochs=1,
        batch_size=64,
        max_batches_per_epoch=5,
        num_threads=1,
        use_amp=False,
    )
    registry = ModelRegistry(root)
    publish_result(registry, SYMBOL, cfg, data, train_model(cfg, data))
    return predictor_class(name).from_artifact(registry.load(SYMBOL, name), device="cpu")


def _tiny_tree(name: str, candles: pl.DataFrame, root: Path) -> Predictor:
    """A gradient-boosted tree of a few rounds on the symbol's causal tree features."""
    publish_tiny_lgbm(root, SYMBOL, candles, leader=candles)
    return predictor_class(name).from_artifact(ModelRegistry(root).load(SYMBOL, name))


TINY_MODELS: dict[Kind, Callable[[str, pl.DataFrame, Path], Predictor]] = {
    "neural": _tiny_neural,
    "tree": _tiny_tree,
}
"""Kind -> builder of a tiny trained predictor (name, training candles, registry root)."""


@pytest.fixture(scope="module", params=[e.name for e in PREDICTORS])
def predictor(request, btc: pl.DataFrame, tmp_path_factory) -> Predictor:
    entry = predictor_entry(request.param)
    if not entry.trained:
        return create_predictor(entry.name)
    if entry.kind not in TINY_MODELS:
        pytest.fail(f"{entry.name}: add a tiny-model builder for kind {entry.kind!r}")
    root = tmp_path_factory.mktemp(f"registry-{entry.name}")
    history = btc.slice(6800, 3200) if entry.kind == "tree" else btc.slice(8000, 2000)
    return TINY_MODELS[entry.kind](entry.name, history, root)


@pytest.fixture(scope="module")
def frame(btc: pl.DataFrame) -> pl.DataFrame:
    """Candles after the training slice (what a served model sees)."""
    return btc.slice(11000, 800)


def _check(p: Prediction, name: str) -> None:
    assert p.model == name
    assert math.isclose(sum(p.probabilities), 1.0, abs_tol=1e-9)
    assert 0.0 <= p.confidence <= 1.0


def test_a_window_of_min_bars_predicts_and_one_bar_less_is_our_error(predictor, frame):
    bars = predictor.min_bars
    assert 1 <= bars <= frame.height
    _check(predictor.predict(frame.tail(bars)), predictor.name)
    with pytest.raises(InsufficientDataError):
        predictor.predict(frame.tail(bars - 1))


def test_predict_batch_equals_predict_window_by_window(predictor, frame):
    bars = predictor.min_bars
    windows = [frame.slice(start, bars + extra) for start, extra in [(0, 0), (7, 30), (50, 3)]]
    batch = predictor.predict_batch(windows)
    one_by_one = [predictor.predict(w) for w in windows]
    assert len(batch) == len(windows)
    for b, o in zip(batch, one_by_one, strict=True):
        _check(b, predictor.name)
        assert b.probabilities == pytest.approx(o.probabilities, abs=1e-6)
        assert b.confidence == pytest.approx(o.confidence, abs=1e-6)
        assert b.version == o.version and b.horizon_bars == o.horizon_bars


def test_predictions_over_a_frame_are_prefix_causal(predictor, frame):
    first = predictor.min_bars - 1
    part = frame.head(first + 12)

    def compute(candles: pl.DataFrame) -> pl.DataFrame:
        # one row per call: a network's batched forward pass may differ in the last float
        # bits with the batch size, which is not what this test is about
        rows = list(range(first, candles.height))
        full = ensure_indicators(candles)
        preds = [predictor.predict_frame(full, [t])[0] for t in rows]
        columns = {c: [math.nan] * candles.height for c in (*CLASSES, "confidence")}
        for t, p in zip(rows, preds, strict=True):
            for c, value in zip(CLASSES, p.probabilities, strict=True):
                columns[c][t] = value
            columns["confidence"][t] = p.confidence
        return pl.DataFrame(columns)

    assert_prefix_causal(compute, part, [first + 1, first + 5, first + 9])


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda f: f.drop("close"), id="no close column"),
        pytest.param(lambda f: f.with_columns(pl.col("close").cast(pl.Utf8)), id="close is text"),
    ],
)
def test_a_frame_that_is_not_candles_raises_our_error(predictor, frame, spoil):
    window = spoil(frame.tail(predictor.min_bars))
    with pytest.raises(SmartMarketError):
        predictor.predict(window)
