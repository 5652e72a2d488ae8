"""Outcome records, record_outcome, performance and the exact state round-trip."""

from __future__ import annotations

import json
import math
import random

import pytest

from models.ensemble import Ensemble, SignalRecord, classify_return
from models.errors import EnsembleInputError
from models.predictors.base import Prediction
from models.regime.state import REGIMES, RegimeState
from tests.ensemble.helpers import MODELS, config, pred

MIXED = {
    "transformer": pred("transformer", (0.1, 0.2, 0.7), 0.8),
    "cnn_lstm": pred("cnn_lstm", (0.2, 0.3, 0.5), 0.5),
    "indicators": pred("indicators", (0.3, 0.4, 0.3), 0.5),
    "smc": pred("smc", (0.6, 0.3, 0.1), 1.0),
}


def test_classify_return_band_is_inclusive() -> None:
    assert classify_return(0.002, 0.002) == 0
    assert classify_return(-0.002, 0.002) == 0
    assert classify_return(0.0021, 0.002) == 1
    assert classify_return(-0.0021, 0.002) == -1
    assert classify_return(0.0, 0.0) == 0


def test_record_outcome_scores_each_model_against_the_realized_class() -> None:
    ens = Ensemble(config())
    record = ens.combine("BTCUSDT", MIXED).to_record(flat_band=0.002)
    assert record.model_directions == {"transformer": 1, "cnn_lstm": 1, "indicators": 0, "smc": -1}
    change = ens.record_outcome(record, 0.01)
    assert change["realized_direction"] == 1
    assert {m: v["correct"] for m, v in change["models"].items()} == {
        "transformer": True,
        "cnn_lstm": True,
        "indicators": False,
        "smc": False,
    }
    assert change["models"]["smc"]["accuracy_before"] is None
    assert change["models"]["smc"]["accuracy"] == 0.0
    change = ens.record_outcome(record, -0.001)  # inside the band: flat
    assert change["realized_direction"] == 0
    assert change["models"]["indicators"]["correct"] is True
    assert change["models"]["indicators"]["accuracy_before"] == 0.0
    # the signal was up with confidence .5: an eligible candidate, lost on a flat outcome
    assert change["threshold"] == {"win": False, "before": 0.7, "after": 0.7}
    json.dumps(change)


def test_degraded_signal_still_teaches_the_models_that_answered() -> None:
    ens = Ensemble(config())
    record = ens.combine("BTCUSDT", {"smc": MIXED["smc"]}).to_record(0.001)
    assert record.direction == 0 and not record.eligible
    change = ens.record_outcome(record, -0.03)
    assert change["models"]["smc"]["correct"] is True and change["threshold"] is None


def test_performance_reports_accuracy_weights_and_threshold() -> None:
    ens = Ensemble(config())
    record = ens.combine("BTCUSDT", MIXED).to_record(0.002)
    ens.record_outcome(record, 0.01)
    ens.record_outcome(
        SignalRecord.from_dict({**record.to_dict(), "model_directions": {"x": 1}}), 0.01
    )
    perf = ens.performance("BTCUSDT")
    assert perf["models"]["transformer"]["accuracy"] == 1.0
    assert perf["models"]["indicators"]["accuracy"] == 0.0
    assert perf["models"]["transformer"]["outcomes"] == 1
    assert perf["models"]["x"]["weight"] == 0.0  # tracked but not configured
    assert perf["weight_mode"] == "static"
    assert sum(m["weight"] for m in perf["models"].values()) == pytest.approx(1.0)
    assert perf["threshold"]["current"] == 0.7 and perf["threshold"]["resolved_signals"] == 2
    assert ens.performance("ETHUSDT")["models"]["smc"]["accuracy"] is None
    json.dumps(perf)


def test_record_json_round_trip_and_validation() -> None:
    record = Ensemble(config()).combine("BTCUSDT", MIXED).to_record(0.002)
    again = SignalRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record
    with pytest.raises(EnsembleInputError, match="flat_band"):
        Ensemble(config()).combine("BTCUSDT", MIXED).to_record(-0.1)
    with pytest.raises(EnsembleInputError, match="confidence"):
        SignalRecord.from_dict({**record.to_dict(), "confidence": 1.5})
    with pytest.raises(EnsembleInputError, match="direction"):
        SignalRecord.from_dict({**record.to_dict(), "model_directions": {"smc": 2}})
    data = record.to_dict()
    del data["eligible"]
    with pytest.raises(EnsembleInputError, match="eligible"):
        SignalRecord.from_dict(data)
    with pytest.raises(EnsembleInputError, match="realized_return"):
        Ensemble(config()).record_outcome(record, math.nan)


def _random_predictions(rng: random.Random) -> dict[str, object]:
    preds: dict[str, object] = {}
    for model in MODELS:
        roll = rng.random()
        if roll < 0.1:
            preds[model] = None
        elif roll < 0.15:
            preds[model] = RuntimeError("lost")
        else:
            raw = [rng.random() + 1e-3 for _ in range(3)]
            total = sum(raw)
            probs = (raw[0] / total, raw[1] / total, 1 - raw[0] / total - raw[1] / total)
            preds[model] = Prediction(model, probs, rng.random())
    return preds


def _drive(ens: Ensemble, rng: random.Random, steps: int) -> list[dict]:
    """Signals and updates of a deterministic random sequence over two symbols."""
    out = []
    for _ in range(steps):
        symbol = rng.choice(("BTCUSDT", "ETHUSDT"))
        regime = RegimeState(rng.choice(REGIMES), 0.5, 0.1) if rng.random() < 0.8 else None
        sig = ens.combine(symbol, _random_predictions(rng), regime)
        change = ens.record_outcome(sig.to_record(0.002), rng.gauss(0.0, 0.01))
        out.append({"signal": sig.to_dict(), "change": change})
    return out


STATE_CFG = {
    "tracking": {"half_life": 7.3, "min_outcomes": 10},
    "adaptive_threshold": {"window": 30, "min_signals": 8, "min_threshold": 0.3},
    "confidence_threshold": 0.4,
}


@pytest.mark.parametrize("method", ["weighted", "confidence_weighted", "majority"])
def test_state_round_trip_is_exact_through_json(method: str) -> None:
    ens = Ensemble(config(voting_method=method, **STATE_CFG))
    history = _drive(ens, random.Random(7), 150)
    assert any(h["signal"]["weight_mode"] == "dynamic" for h in history)
    assert len({h["signal"]["threshold"] for h in history}) > 1  # the threshold moved
    state = json.loads(json.dumps(ens.state_dict()))
    restored = Ensemble.from_state_dict(state)
    same_config = Ensemble(config(voting_method=method, **STATE_CFG))
    same_config.load_state_dict(state)
    assert restored.config == ens.config
    expected = _drive(ens, random.Random(99), 60)
    assert _drive(restored, random.Random(99), 60) == expected  # float equality throughout
    assert _drive(same_config, random.Random(99), 60) == expected
    assert restored.state_dict() == ens.state_dict() == same_config.state_dict()


def test_bad_state_is_rejected_with_its_path() -> None:
    ens = Ensemble(config())
    _drive(ens, random.Random(1), 20)
    state = json.loads(json.dumps(ens.state_dict()))
    with pytest.raises(EnsembleInputError, match="format"):
        Ensemble(config()).load_state_dict({**state, "format": 99})
    with pytest.raises(EnsembleInputError, match="mode"):
        Ensemble().load_state_dict(state)  # the original's state into the learned combiner
    bad = json.loads(json.dumps(state))
    symbol = next(iter(bad["state"]["trackers"]))
    model = next(iter(bad["state"]["trackers"][symbol]))
    bad["state"]["trackers"][symbol][model]["correct"] = -1.0
    with pytest.raises(EnsembleInputError, match=f"trackers.{symbol}.{model}"):
        Ensemble(config()).load_state_dict(bad)
    bad = json.loads(json.dumps(state))
    bad["state"]["thresholds"] = {"BTCUSDT": [[0.5, "yes"]]}
    with pytest.raises(EnsembleInputError, match=r"thresholds.BTCUSDT\[0\]"):
        Ensemble(config()).load_state_dict(bad)
    with pytest.raises(EnsembleInputError, match="config"):
        Ensemble.from_state_dict({"format": 1, "trackers": {}, "thresholds": {}})
