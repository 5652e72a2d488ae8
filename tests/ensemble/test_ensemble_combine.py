"""Ensemble.combine: regime filter and multipliers, degraded and unusable inputs."""

from __future__ import annotations

import pytest

from models.ensemble import Ensemble, EnsembleConfig, Unavailable
from models.ensemble.original_config import ORIGINAL_WEIGHTS
from models.ensemble.voting import UNIFORM
from models.errors import EnsembleInputError
from models.regime.state import RegimeState
from tests.ensemble.helpers import all_models, config, pred

STRONG_UP = (0.05, 0.10, 0.85)
UP_AND_DOWN = {
    "transformer": pred("transformer", (0.1, 0.2, 0.7), 0.8),
    "smc": pred("smc", (0.7, 0.2, 0.1), 0.8),
}


def regime(name: str) -> RegimeState:
    return RegimeState(name=name, confidence=0.6, transition_probability=0.1)


def test_volatile_regime_blocks_actionable_signals() -> None:
    ens = Ensemble(config())
    free = ens.combine("BTCUSDT", all_models(STRONG_UP, 0.9), regime("trending_bullish"))
    blocked = ens.combine("BTCUSDT", all_models(STRONG_UP, 0.9), regime("volatile"))
    assert free.actionable and free.signal == "STRONG_BUY"
    assert not blocked.actionable and not blocked.eligible
    assert blocked.signal == "BUY" and blocked.direction == 1
    assert any("volatile" in r for r in blocked.reasons)
    assert blocked.to_dict()["regime"]["name"] == "volatile"


def test_no_regime_counts_as_allowed_without_multipliers() -> None:
    sig = Ensemble(config()).combine("BTCUSDT", UP_AND_DOWN, None)
    # base weights .4/.5 = .8 and .1/.5 = .2; up = .8*.7 + .2*.1 = .58
    assert sig.probabilities[2] == pytest.approx(0.58)
    assert sig.regime is None and sig.to_dict()["regime"] is None
    assert all(c.regime_multiplier == 1.0 for c in sig.contributions.values())


def test_ranging_multipliers_favour_smc_by_hand() -> None:
    sig = Ensemble(config()).combine("BTCUSDT", UP_AND_DOWN, regime("ranging"))
    # .8 * 0.9 = .72 and .2 * 1.4 = .28 (sum 1): up = .72*.7 + .28*.1, down = .72*.1 + .28*.7
    assert sig.probabilities == pytest.approx((0.268, 0.2, 0.532))
    assert sig.contributions["smc"].regime_multiplier == 1.4
    assert sig.contributions["smc"].base_weight == pytest.approx(0.2)
    assert sig.contributions["smc"].weight == pytest.approx(0.28)


def test_trending_multipliers_favour_transformer_by_hand() -> None:
    sig = Ensemble(config()).combine("BTCUSDT", UP_AND_DOWN, regime("trending_bullish"))
    # .8 * 1.2 = .96 and .2 * .8 = .16 (sum 1.12): up = (.96*.7 + .16*.1) / 1.12
    assert sig.probabilities[2] == pytest.approx(0.688 / 1.12)
    assert sig.contributions["transformer"].weight == pytest.approx(0.96 / 1.12)


def test_zero_multiplier_mutes_a_model_and_can_drop_below_min_models() -> None:
    cfg = config(regime={"multipliers": {"consolidation": {"smc": 0.0}}})
    sig = Ensemble(cfg).combine("BTCUSDT", UP_AND_DOWN, regime("consolidation"))
    assert sig.signal == "HOLD" and sig.quality == "POOR" and not sig.actionable
    assert sig.contributions["smc"].status == "ok" and sig.contributions["smc"].weight == 0.0
    assert sig.coverage == pytest.approx(0.5)  # smc delivered: coverage counts it
    assert any("min_models" in r for r in sig.reasons)


def test_missing_and_failed_models_lower_coverage_without_crashing() -> None:
    preds = {
        "transformer": pred("transformer", (0.1, 0.2, 0.7), 0.8),
        "cnn_lstm": pred("cnn_lstm", (0.2, 0.3, 0.5), 0.6),
        "indicators": None,
        "smc": TimeoutError("replica did not answer"),
    }
    sig = Ensemble(config()).combine("BTCUSDT", preds)
    assert sig.missing_models == {
        "indicators": "missing",
        "smc": "error: TimeoutError: replica did not answer",
    }
    assert sig.coverage == pytest.approx(0.7)
    # renormalised over the two present: .4/.7 and .3/.7
    up = (0.4 * 0.7 + 0.3 * 0.5) / 0.7
    assert sig.probabilities[2] == pytest.approx(up)
    assert sig.contributions["smc"].status.startswith("error:")
    assert sig.contributions["smc"].weight == 0.0
    assert sig.to_dict()["missing_models"]["indicators"] == "missing"


def test_absent_key_and_wrong_type_are_missing_and_error() -> None:
    preds = {"transformer": pred("transformer", (0.1, 0.2, 0.7)), "cnn_lstm": "0.7 up"}
    sig = Ensemble(config(min_models=1)).combine("BTCUSDT", preds)
    assert sig.missing_models == {
        "cnn_lstm": "error: expected a Prediction, got str",
        "indicators": "missing",
        "smc": "missing",
    }
    assert sig.probabilities == pytest.approx((0.1, 0.2, 0.7))
    assert sig.coverage == pytest.approx(0.4)


def test_all_missing_is_a_poor_hold() -> None:
    sig = Ensemble(config()).combine("BTCUSDT", {})
    assert (sig.signal, sig.quality, sig.actionable, sig.confidence) == ("HOLD", "POOR", False, 0.0)
    assert sig.probabilities == UNIFORM and sig.coverage == 0.0
    assert set(sig.missing_models) == {"transformer", "cnn_lstm", "indicators", "smc"}


def test_below_min_models_is_a_poor_hold_even_when_confident() -> None:
    preds = {"transformer": pred("transformer", STRONG_UP, 1.0), "smc": ValueError()}
    sig = Ensemble(config()).combine("BTCUSDT", preds)
    assert (sig.signal, sig.quality, sig.actionable, sig.direction) == ("HOLD", "POOR", False, 0)
    assert sig.probabilities == UNIFORM
    assert sig.missing_models["smc"] == "error: ValueError"
    assert sig.contributions["transformer"].status == "ok"
    assert sig.contributions["transformer"].weight == 0.0
    assert "1 model(s) can vote; min_models is 2" in sig.reasons


def test_unconfigured_model_is_ignored_not_missing() -> None:
    preds = {**UP_AND_DOWN, "lightgbm": pred("lightgbm", STRONG_UP, 1.0)}
    sig = Ensemble(config()).combine("BTCUSDT", preds)
    assert sig.contributions["lightgbm"].status == "ignored: not in config weights"
    assert sig.contributions["lightgbm"].weight == 0.0
    assert "lightgbm" not in sig.missing_models
    assert sig.probabilities[2] == pytest.approx(0.58)


def test_zero_static_weight_model_never_votes() -> None:
    cfg = config(weights={"transformer": 1.0, "cnn_lstm": 1.0, "smc": 0.0})
    preds = {
        "transformer": pred("transformer", (0.1, 0.2, 0.7)),
        "cnn_lstm": pred("cnn_lstm", (0.2, 0.3, 0.5)),
        "smc": pred("smc", (0.8, 0.1, 0.1)),
    }
    sig = Ensemble(cfg).combine("BTCUSDT", preds)
    assert sig.probabilities == pytest.approx((0.15, 0.25, 0.6))
    assert sig.contributions["smc"].weight == 0.0


def test_bad_arguments_raise_our_error() -> None:
    ens = Ensemble(config())
    with pytest.raises(EnsembleInputError, match="symbol"):
        ens.combine("", UP_AND_DOWN)
    with pytest.raises(EnsembleInputError, match="predictions"):
        ens.combine("BTCUSDT", [pred("smc", STRONG_UP)])  # type: ignore[arg-type]


def test_a_failure_handed_over_as_data_keeps_its_status() -> None:
    """A caller passes a model's failure as ``Unavailable(status)`` (no exception rebuilt):
    the model is left out with exactly that status, as an exception would be."""
    preds = {
        "transformer": pred("transformer", (0.1, 0.2, 0.7), 0.8),
        "cnn_lstm": pred("cnn_lstm", (0.2, 0.3, 0.5), 0.6),
        "indicators": Unavailable("timeout"),
        "smc": Unavailable("error: RuntimeError: predictor crashed"),
    }
    for cfg in (config(), EnsembleConfig(members=tuple(ORIGINAL_WEIGHTS))):
        sig = Ensemble(cfg).combine("BTCUSDT", preds, None, 7)
        assert sig.missing_models == {
            "indicators": "timeout",
            "smc": "error: RuntimeError: predictor crashed",
        }
        assert sig.contributions["smc"].weight == 0.0
