"""The lgbm predictor on real data: train -> publish (both variants) -> load -> predict.

Checks the predictor contract (min_bars, predict_batch == predict, prefix-causal replay,
bad input errors), that serving sees the features the model was trained on, and how far
a live ``min_bars`` window moves probabilities from the full-history ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models.errors import ConfigError, CorruptModelError, InsufficientDataError
from models.features.feature_cache import window_key
from models.predictors.leader import LEADER_COLUMNS, attach_leader, leader_candles
from models.predictors.lgbm import NEWEST_ROWS, OWN_INPUTS, LgbmPredictor
from models.predictors.tree_features import LEADER_NAMES, TREE_FEATURES, WINDOW_BARS
from models.registry import ModelRegistry
from models.training.lgbm import LgbmConfig, design_matrix, fit_booster, predict_proba
from models.training.lgbm_publish import FittedVariant, publish_variants
from models.training.tabular import TabularData, pool, prepare_tabular_data

SYMBOLS = ("BTCUSDT", "ETHUSDT")
CFG = LgbmConfig(max_rounds=40, min_data_in_leaf=50, early_stopping_rounds=10)


@pytest.fixture(scope="module")
def candles(real_candles) -> dict[str, pl.DataFrame]:
    return {s: real_candles(s).slice(7000, 3200) for s in SYMBOLS}


@pytest.fixture(scope="module")
def datasets(candles) -> dict[str, TabularData]:
    leader = candles["BTCUSDT"]
    return {s: prepare_tabular_data(c, symbol=s, leader=leader) for s, c in candles.items()}


def _info(pooled: bool) -> dict:
    search = {"symbol_feature": True} if pooled else {}
    return {"params": CFG.to_dict(), "search": search, "trials": 1}


@pytest.fixture(scope="module")
def registry(datasets, tmp_path_factory) -> ModelRegistry:
    names = list(datasets["BTCUSDT"].feature_names)
    per = {
        s: fit_booster((d.train.X, d.train.y), (d.val.X, d.val.y), CFG, names)
        for s, d in datasets.items()
    }
    parts = [pool(list(datasets.values()), p) for p in ("train", "val")]
    arrays = [(design_matrix(p.X, p.symbol_index), p.y) for p in parts]
    shared = fit_booster(arrays[0], arrays[1], CFG, [*names, "symbol_id"])
    fitted = [
        FittedVariant("per_symbol", per, False, SYMBOLS, dict.fromkeys(SYMBOLS, _info(False)),
                      dict.fromkeys(SYMBOLS, 1.0), 1),
        FittedVariant("pooled", dict.fromkeys(SYMBOLS, shared), True, SYMBOLS,
                      dict.fromkeys(SYMBOLS, _info(True)), dict.fromkeys(SYMBOLS, 1.0), 1),
    ]  # fmt: skip
    root = tmp_path_factory.mktemp("lgbm-registry")
    rows = publish_variants(fitted, datasets, str(root), {"data_path": "test"})
    assert len(rows) == 4 and sum(r.model.endswith("*") for r in rows) == 2
    return ModelRegistry(root)


def test_published_artifact_and_default_is_latest(registry: ModelRegistry, datasets) -> None:
    for symbol in SYMBOLS:
        versions = registry.versions(symbol, "lgbm")
        assert len(versions) == 2
        latest = registry.load(symbol, "lgbm")
        comparison = latest.metrics["comparison"]
        assert latest.config["variant"] == comparison["default"]
        losses = comparison["val_log_loss"]
        assert losses[comparison["default"]] == min(losses.values())
        ranked = latest.metrics["feature_importance"]["ranked"]
        gains = [g for _, g in ranked]
        assert gains == sorted(gains, reverse=True) and len(ranked) >= len(TREE_FEATURES)
        assert set(latest.metrics["baselines"]["test"]) == {"majority", "always_flat", "momentum"}
        assert latest.manifest["data_window"]["embargo_bars"] == datasets[symbol].embargo


@pytest.mark.parametrize("version_index", [0, 1])
def test_predictor_contract_on_real_windows(
    registry: ModelRegistry, candles, datasets, version_index: int
) -> None:
    version = registry.versions("ETHUSDT", "lgbm")[version_index]
    predictor = LgbmPredictor.from_registry(
        registry, "ETHUSDT", version, leader_candles=candles["BTCUSDT"]
    )
    assert predictor.min_bars == WINDOW_BARS and predictor.name == "lgbm"
    frame = candles["ETHUSDT"]
    data = datasets["ETHUSDT"]
    rows = [int(r) for r in data.test.ends[[0, 7, 100]]]
    # Full-history replay equals the trained model on the training-time features, exactly.
    replay = predictor.predict_frame(frame, rows)
    artifact = registry.load("ETHUSDT", "lgbm", version)
    X = data.test.X[[0, 7, 100]]
    if artifact.config["symbol_feature"]:
        X = design_matrix(X, np.full(3, SYMBOLS.index("ETHUSDT")))
    expected = predict_proba(predictor.booster, np.asarray(X, dtype=np.float64))
    got = np.array([p.probabilities for p in replay])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    # Prefix-causal: each row equals predict() on the history up to it.
    for t, p in zip(rows, replay, strict=True):
        assert predict_frame_row(predictor, frame, t) == p.probabilities
    # predict_batch == predict, on live-size windows (leader from the window's columns too).
    windows = [frame.slice(t + 1 - WINDOW_BARS, WINDOW_BARS) for t in rows]
    batch = predictor.predict_batch(windows)
    for w, b in zip(windows, batch, strict=True):
        assert predictor.predict(w).probabilities == b.probabilities
        assert b.confidence == pytest.approx(
            sorted(b.probabilities)[2] - sorted(b.probabilities)[1]
        )
    # A live window moves probabilities a little from the full-history ones.
    skew = np.abs(np.array([b.probabilities for b in batch]) - got).max()
    assert skew < 0.05, f"live window vs full history: {skew:.4f}"


def test_newest_features_are_cached_by_content(registry: ModelRegistry, candles) -> None:
    """Windows of several bars share the process-wide cache; a hit gives what the features
    computed afresh give; the leader's row is computed once per leader history."""
    NEWEST_ROWS.clear()
    frame = attach_leader(candles["ETHUSDT"], candles["BTCUSDT"])
    ends = [frame.height - 1 - k for k in range(4)]
    windows = [frame.slice(e + 1 - WINDOW_BARS, WINDOW_BARS) for e in ends]
    cached = LgbmPredictor.from_registry(registry, "ETHUSDT")
    first = [cached.predict(w).probabilities for w in windows]
    assert (NEWEST_ROWS.misses, NEWEST_ROWS.hits) == (8, 0)  # each window and its leader
    again = [cached.predict(w).probabilities for w in reversed(windows)][::-1]
    assert NEWEST_ROWS.hits == 4
    other = LgbmPredictor.from_registry(registry, "ETHUSDT")  # another predictor shares it
    assert [other.predict(w).probabilities for w in windows] == first == again
    assert NEWEST_ROWS.misses == 8
    for w in windows:
        np.testing.assert_array_equal(cached.newest_features(w), cached.features(w)[-1])
    last = pl.int_range(pl.len()) == WINDOW_BARS - 1  # the leader's newest close moves
    moved = windows[0].with_columns(
        pl.when(last).then(pl.col("leader_close") * 1.05).otherwise(pl.col("leader_close"))
    )
    lead = TREE_FEATURES.index("leader_log_ret_1")
    assert cached.newest_features(moved)[lead] != cached.newest_features(windows[0])[lead]
    np.testing.assert_array_equal(cached.newest_features(moved), cached.features(moved)[-1])


def test_the_leader_row_is_shared_by_every_symbol_at_a_bar(real_candles) -> None:
    """Two symbols' windows at the same bar compute the leader's features once."""
    from models.predictors.lgbm import _newest_row

    NEWEST_ROWS.clear()
    btc = real_candles("BTCUSDT").slice(7000, 3200)
    rows = []
    for symbol in ("ETHUSDT", "SOLUSDT"):
        own = real_candles(symbol).filter(pl.col("timestamp") <= btc["timestamp"][-1])
        window = attach_leader(own, btc).tail(WINDOW_BARS)
        leader = leader_candles(window)
        assert leader is not None
        key = window_key("leader", "BTCUSDT", leader, OWN_INPUTS)
        rows.append(_newest_row(window, leader, key))
    assert (NEWEST_ROWS.misses, NEWEST_ROWS.hits) == (1, 1)
    lead = [TREE_FEATURES.index(n) for n in LEADER_NAMES]
    np.testing.assert_array_equal(rows[0][lead], rows[1][lead])


def predict_frame_row(predictor: LgbmPredictor, frame: pl.DataFrame, t: int) -> tuple:
    return predictor.predict(frame.head(t + 1)).probabilities


def test_bad_inputs_raise_our_errors(registry: ModelRegistry, candles) -> None:
    eth = candles["ETHUSDT"]
    predictor = LgbmPredictor.from_registry(registry, "ETHUSDT")
    with pytest.raises(InsufficientDataError, match="BTCUSDT candles beside this window: 0"):
        predictor.predict(eth.tail(WINDOW_BARS))  # no leader anywhere
    window = attach_leader(eth, candles["BTCUSDT"]).tail(WINDOW_BARS)
    stale = window.with_columns(  # the leader's newest bar not stored yet
        pl.when(pl.int_range(pl.len()) == WINDOW_BARS - 1).then(None).otherwise(pl.col(c)).alias(c)
        for c in LEADER_COLUMNS
    )
    with pytest.raises(InsufficientDataError, match="not the newest"):
        predictor.predict(stale)
    with pytest.raises(InsufficientDataError, match="at least"):
        predictor.predict(window.with_columns(pl.lit(None, pl.Float64).alias("leader_close")))
    with pytest.raises(InsufficientDataError, match=str(WINDOW_BARS)):
        predictor.predict(eth.tail(WINDOW_BARS - 1))
    btc = LgbmPredictor.from_registry(registry, "BTCUSDT")  # the leader needs no leader
    assert btc.predict(candles["BTCUSDT"].tail(WINDOW_BARS)).model == "lgbm"
    with pytest.raises(ConfigError, match="num_threads"):
        LgbmPredictor.from_registry(registry, "BTCUSDT", num_threads=0)
    artifact = registry.load("BTCUSDT", "lgbm")
    broken = type(artifact)(**{**artifact.__dict__, "state_dict": {}})
    with pytest.raises(CorruptModelError, match="lgbm_model"):
        LgbmPredictor(broken)
    renamed = type(artifact)(**{**artifact.__dict__, "model_name": "cnn_lstm"})
    with pytest.raises(ConfigError, match="model"):
        LgbmPredictor(renamed)
    features = {**artifact.config, "feature_names": ["x"]}
    with pytest.raises(ConfigError, match="feature_names"):
        LgbmPredictor(type(artifact)(**{**artifact.__dict__, "config": features}))


def test_loads_from_an_artifact_path(registry: ModelRegistry, tmp_path: Path) -> None:
    assert LgbmPredictor.from_registry(str(registry.root), "BTCUSDT").predict_batch([]) == []


def test_report_and_bench_scripts_read_the_registry(registry: ModelRegistry, capsys) -> None:
    from tests.scripts.script_loader import load_script

    assert load_script("lgbm_report").main(["--registry", str(registry.root), "--top", "5"]) == 0
    out = capsys.readouterr().out
    assert out.count("| BTCUSDT |") == 2 and "(default)" in out and "| 5 | `" in out
    bench = load_script("bench_lgbm")
    args = ["--registry", str(registry.root), "--symbol", "ETHUSDT", "--batches", "1", "2"]
    assert bench.main([*args, "--repeat", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2].split()[0] == "1" and lines[-1].split()[0] == "2"
    assert bench.main([*args[:-1], "--repeat", "1", "--parts"]) == 0
    parts = dict(line.rsplit(maxsplit=1) for line in capsys.readouterr().out.splitlines()[-12:])
    assert {"own features (all)", "    fair value gaps", "leader features (all)"} <= set(parts)
    assert all(float(ms) > 0 for ms in parts.values())


def test_served_in_the_pipeline_with_the_stored_leader(registry: ModelRegistry, candles) -> None:
    """The serving pipeline (in process: the same functions as the deployments) sends lgbm
    its 720 bars with the stored leader's candles; its answer is the predictor's own on that
    window. Without the leader stored it sleeps (``insufficient_data``), not degraded."""
    from models.serving.inprocess import InProcessEnsemble

    eth, btc = candles["ETHUSDT"], candles["BTCUSDT"]
    frame = eth.tail(900)
    serving = InProcessEnsemble(str(registry.root), stored={"BTCUSDT": btc})
    (answer,) = serving.predict_many([("ETHUSDT", frame)])
    model = answer.body["models"]["lgbm"]
    expected = LgbmPredictor.from_registry(registry, "ETHUSDT").predict(
        attach_leader(frame.tail(WINDOW_BARS), btc)
    )
    assert model["status"] == "ok" and model["version"] == expected.version
    assert tuple(model["probabilities"].values()) == expected.probabilities
    alone = InProcessEnsemble(str(registry.root))
    (answer,) = alone.predict_many([("ETHUSDT", frame), ("BTCUSDT", btc.tail(900))])[:1]
    assert answer.body["models"]["lgbm"]["status"] == "insufficient_data"
    assert "lgbm" not in answer.body["unavailable"]
