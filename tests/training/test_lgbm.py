"""LightGBM training mechanics (synthetic) and the tabular split on real data."""

from __future__ import annotations

import numpy as np
import pytest

from models.errors import ConfigError, CorruptModelError
from models.predictors.booster import SYMBOL_FEATURE, booster_from_state, booster_state
from models.predictors.tree_features import FEATURE_LOOKBACK, TREE_FEATURES
from models.training.baselines import baseline_metrics
from models.training.lgbm import (
    LgbmConfig,
    design_matrix,
    fit_booster,
    gain_importance,
    predict_proba,
)
from models.training.metrics import classification_metrics
from models.training.tabular import check_pooled_split, pool, prepare_tabular_data


def _learnable(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Class = sign bucket of feature 0 plus noise; features 1..3 are noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    score = X[:, 0] + rng.normal(scale=0.7, size=n)
    y = np.digitize(score, [-0.5, 0.5])
    return X, y


def test_fit_stops_early_and_learns_the_signal() -> None:
    train, val = _learnable(3000, 0), _learnable(1000, 1)
    cfg = LgbmConfig(max_rounds=2000, early_stopping_rounds=20, min_data_in_leaf=20)
    booster = fit_booster(train, val, cfg, ["signal", "a", "b", "c"])
    assert 0 < booster.best_iteration < 2000  # stopped on validation log loss
    probs = predict_proba(booster, val[0])
    prior = np.bincount(train[1], minlength=3) / len(train[1])
    ours = classification_metrics(val[1], probs)["log_loss"]
    base = classification_metrics(val[1], np.tile(prior, (len(val[1]), 1)))["log_loss"]
    assert ours < base - 0.1
    gains = gain_importance(booster)
    assert next(iter(gains)) == "signal" and list(gains.values()) == sorted(gains.values())[::-1]


def test_state_round_trip_is_exact_and_corruption_is_named() -> None:
    train, val = _learnable(800, 2), _learnable(300, 3)
    booster = fit_booster(train, val, LgbmConfig(max_rounds=30, min_data_in_leaf=20), list("wxyz"))
    again = booster_from_state(booster_state(booster))
    np.testing.assert_array_equal(predict_proba(booster, val[0]), predict_proba(again, val[0]))
    with pytest.raises(CorruptModelError, match="lgbm_model"):
        booster_from_state({"other": booster_state(booster)["lgbm_model"]})


def test_symbol_column_is_categorical() -> None:
    X, y = _learnable(900, 4)
    index = np.arange(900) % 3
    designed = design_matrix(X, index)
    assert designed.shape == (900, 5) and (designed[:, -1] == index).all()
    names = [*"wxyz", SYMBOL_FEATURE]
    booster = fit_booster((designed, y), (designed, y), LgbmConfig(max_rounds=5), names)
    assert booster.dump_model()["feature_infos"][SYMBOL_FEATURE]["values"]  # categories listed


@pytest.mark.parametrize(
    ("field", "value"),
    [("num_leaves", 1), ("learning_rate", 0.0), ("num_threads", 0), ("max_rounds", 2.5)],
)
def test_bad_config_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        LgbmConfig(**{field: value})
    with pytest.raises(ConfigError, match="unknown"):
        LgbmConfig.from_dict({"depth": 3})


@pytest.fixture(scope="module")
def real_parts(real_candles):
    btc = real_candles("BTCUSDT").slice(8000, 3000)
    eth = real_candles("ETHUSDT").slice(8000, 3000)
    return {
        "BTCUSDT": prepare_tabular_data(btc, symbol="BTCUSDT", leader=btc),
        "ETHUSDT": prepare_tabular_data(eth, symbol="ETHUSDT", leader=btc),
    }


def test_split_embargo_and_baselines_on_real_data(real_parts) -> None:
    data = real_parts["ETHUSDT"]
    assert data.train.X.shape[1] == len(TREE_FEATURES) and data.embargo == 4 + FEATURE_LOOKBACK
    assert data.train.ends[0] >= FEATURE_LOOKBACK
    for a, b in (("train", "val"), ("val", "test")):
        assert getattr(data, b).ends[0] - getattr(data, a).ends[-1] > data.embargo
        assert data.data_window[a]["label_end"] < data.data_window[b]["start"]
    assert set(baseline_metrics(data, "test")) == {"majority", "always_flat", "momentum"}
    assert np.isfinite(data.train.X).mean() > 0.9


def test_pool_stacks_symbols_and_refuses_misaligned_periods(real_parts, real_candles) -> None:
    parts = list(real_parts.values())
    pooled = pool(parts, "train")
    assert len(pooled.y) == sum(len(p.train) for p in parts)
    assert set(np.unique(pooled.symbol_index)) == {0, 1}
    later = real_candles("ETHUSDT").slice(9000, 3000)
    shifted = prepare_tabular_data(later, symbol="ETHUSDT", leader=real_candles("BTCUSDT"))
    with pytest.raises(ConfigError, match="same period"):
        check_pooled_split([parts[0], shifted])
    with pytest.raises(ConfigError, match="part"):
        pool(parts, "holdout")
