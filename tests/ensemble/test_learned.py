"""The learned ensemble through the public API: weights from log loss, sleeping members,
calibrated confidence, outcomes learned once per bar, state format and migration."""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Callable

import numpy as np
import pytest

from models.ensemble import STATE_FORMAT, Ensemble, EnsembleConfig
from models.errors import EnsembleInputError
from models.predictors.base import Prediction

H = 4
BAND = 0.001

Members = Callable[[int, np.random.Generator], dict[str, Prediction | None]]


def _pred(model: str, probs) -> Prediction:
    return Prediction(model=model, probabilities=tuple(probs), confidence=max(probs))


def _loop(ens: Ensemble, members, outcome, bars: int, seed: int = 0, symbol: str = "X"):
    """The live loop: the outcome of bar t is learned at bar t + h, then bar t is combined."""
    rng = np.random.default_rng(seed)
    pending: deque = deque()
    signals = []
    for bar in range(bars):
        while pending and pending[0][0] <= bar:
            _, record, ret = pending.popleft()
            ens.record_outcome(record, ret)
        y = outcome(rng)
        signal = ens.combine(symbol, members(y, rng), None, bar)
        ret = (y - 1) * 0.01 + (0.0005 if y == 1 else 0.0) * rng.choice([-1, 1])
        pending.append((bar + H, signal.to_record(BAND), ret))
        signals.append((signal, y))
    return signals


def _oracle_adversary(y: int, rng) -> dict[str, Prediction | None]:
    oracle = [0.7 if k == y else 0.15 for k in range(3)]
    adversary = [0.7 if k == (y + 1) % 3 else 0.15 for k in range(3)]
    return {"oracle": _pred("oracle", oracle), "adversary": _pred("adversary", adversary)}


def _uniform_outcome(rng) -> int:
    return int(rng.integers(3))


def _config(members, **learning) -> EnsembleConfig:
    return EnsembleConfig(
        weights=dict.fromkeys(members, 1.0), min_models=1, learning=learning or {}
    )


def test_oracle_weight_tends_to_one_and_adversary_to_zero():
    ens = Ensemble(_config(("oracle", "adversary"), stacker={"enabled": False}))
    _loop(ens, _oracle_adversary, _uniform_outcome, 2000)
    weights = {m: v["weight"] for m, v in ens.performance("X")["models"].items()}
    assert weights["oracle"] > 0.98 and weights["adversary"] < 0.002


def test_with_the_stacker_the_adversary_still_loses_its_weight():
    ens = Ensemble(_config(("oracle", "adversary")))
    _loop(ens, _oracle_adversary, _uniform_outcome, 2000)
    perf = ens.performance("X")
    assert perf["models"]["adversary"]["weight"] < 0.002
    assert perf["models"]["oracle"]["weight"] + perf["models"]["stacker"]["weight"] > 0.98
    assert perf["stacker"]["coefficients"]["adversary"] < 0  # a signed coefficient flips it


def test_a_member_that_is_always_missing_changes_nothing():
    def with_ghost(y, rng):
        return {**_oracle_adversary(y, rng), "ghost": None}

    ghost = Ensemble(_config(("oracle", "adversary", "ghost")))
    plain = Ensemble(_config(("oracle", "adversary")))
    a = _loop(ghost, with_ghost, _uniform_outcome, 600, seed=5)
    b = _loop(plain, _oracle_adversary, _uniform_outcome, 600, seed=5)
    for (s1, _), (s2, _) in zip(a, b, strict=True):
        assert s1.probabilities == pytest.approx(s2.probabilities, rel=1e-9, abs=1e-12)
    assert a[-1][0].missing_models == {"ghost": "missing"}


def _noisy_members(y: int, rng) -> dict[str, Prediction | None]:
    """A weak honest member, a confident liar, a sleepy one."""
    weak = rng.dirichlet([5.0, 5.0, 5.0])
    weak[y] += 0.1
    liar = np.full(3, 0.1)
    liar[int(rng.integers(3))] = 0.8
    out = {"weak": _pred("weak", weak / weak.sum()), "liar": _pred("liar", liar)}
    out["sleepy"] = _pred("sleepy", [0.2, 0.5, 0.3]) if rng.random() < 0.5 else None
    return out


def _skewed_outcome(rng) -> int:
    return int(rng.choice(3, p=[0.3, 0.45, 0.25]))


def test_log_loss_is_no_worse_than_the_base_rate_and_confidence_is_calibrated():
    ens = Ensemble(_config(("weak", "liar", "sleepy")))
    signals = _loop(ens, _noisy_members, _skewed_outcome, 6000, seed=2)
    tail = signals[1000:]
    probs = np.array([s.probabilities for s, _ in tail])
    ys = np.array([y for _, y in tail])
    loss = -np.mean(np.log(probs[np.arange(len(ys)), ys]))
    freq = np.bincount(ys, minlength=3) / len(ys)
    base_loss = -np.mean(np.log(freq[ys]))  # the base rate known in hindsight
    assert loss < base_loss
    conf = np.array([s.confidence for s, _ in tail])
    called = np.array([s.direction + 1 for s, _ in tail])
    assert np.allclose(conf, probs[np.arange(len(ys)), called])  # confidence = P(called class)
    perf = ens.performance("X")
    assert perf["ensemble"]["calibration"]["ece"] < 0.03
    assert perf["models"]["liar"]["weight"] < 0.01


def _no_edge(y: int, rng) -> dict[str, Prediction | None]:
    """Members that know nothing of the outcome."""
    return {m: _pred(m, rng.dirichlet([2.0, 2.0, 2.0])) for m in ("weak", "liar", "sleepy")}


def test_nothing_is_actionable_without_certified_evidence():
    ens = Ensemble(_config(("weak", "liar", "sleepy")))

    def outcome(rng):  # mostly moves, so the ensemble calls directions often
        return int(rng.choice(3, p=[0.4, 0.2, 0.4]))

    signals = _loop(ens, _no_edge, outcome, 3000, seed=3)
    assert sum(s.direction != 0 for s, _ in signals) > 1000
    for signal, _ in signals:
        assert not signal.actionable and signal.threshold == 1.0
        if signal.direction != 0:
            assert any("no confidence level is certified" in r for r in signal.reasons)
            assert signal.quality == "FAIR" and signal.signal in ("BUY", "SELL")


def test_an_edge_earns_actionable_signals_with_their_precision():
    def members(y, rng):
        right = rng.random() < 0.75
        guess = y if right else int(rng.integers(3))
        probs = [0.7 if k == guess else 0.15 for k in range(3)]
        return {"m": _pred("m", probs)}

    def outcome(rng):
        return int(rng.choice([0, 2]))  # no flat bars: every directional call is a sign call

    ens = Ensemble(_config(("m",)))
    signals = _loop(ens, members, outcome, 3000, seed=4)
    actionable = [(s, y) for s, y in signals if s.actionable]
    assert len(actionable) > 200
    hit = np.mean([s.direction == y - 1 for s, y in actionable])
    assert hit > ens.performance("X")["actionable"]["break_even"]
    assert {s.quality for s, _ in actionable} <= {"GOOD", "EXCELLENT"}


def test_each_bar_is_learned_once():
    ens = Ensemble(_config(("oracle", "adversary")))
    preds = _oracle_adversary(2, None)
    first = ens.combine("X", preds, None, 10).to_record(BAND)
    second = ens.combine("X", preds, None, 10).to_record(BAND)
    assert ens.record_outcome(first, 0.02)["learned"] is True
    again = ens.record_outcome(second, 0.02)
    assert again["learned"] is False and "already learned" in again["reason"]
    assert ens.performance("X")["ensemble"]["outcomes"] == 1


def test_the_learned_ensemble_needs_the_bar_index():
    ens = Ensemble(_config(("oracle",)))
    with pytest.raises(EnsembleInputError, match="bar"):
        ens.combine("X", {"oracle": _pred("oracle", [0.2, 0.3, 0.5])}, None)


def test_state_round_trip_gives_identical_future_signals():
    ens = Ensemble(_config(("weak", "liar", "sleepy")))
    _loop(ens, _noisy_members, _skewed_outcome, 500, seed=6)
    state = json.loads(json.dumps(ens.state_dict()))
    assert state["format"] == STATE_FORMAT == 2
    restored = Ensemble.from_state_dict(state)
    later = [s.probabilities for s, _ in _loop(ens, _noisy_members, _skewed_outcome, 100, seed=9)]
    again = [
        s.probabilities for s, _ in _loop(restored, _noisy_members, _skewed_outcome, 100, seed=9)
    ]
    assert later == again


def test_format_one_state_is_migrated_and_unknown_formats_refused():
    old = {"format": 1, "config": {}, "trackers": {}, "thresholds": {}}
    ens = Ensemble()
    ens.load_state_dict(old)
    assert ens.state_dict()["format"] == STATE_FORMAT
    with pytest.raises(EnsembleInputError, match="format"):
        ens.load_state_dict({"format": 3})
    broken = ens.state_dict()
    broken["learned"]["mixture"]["experts"] = ["a", "a"]
    with pytest.raises(EnsembleInputError, match=r"mixture\.experts"):
        ens.load_state_dict(broken)


def test_a_member_added_later_is_as_if_it_had_always_slept():
    """A state saved before a member joined (a service upgrade) loads into the new member
    set: until the new member speaks every signal is what the old set gives, and the state
    is the one a configuration that had it asleep from the start would have reached."""

    def with_ghost(y, rng):
        return {**_oracle_adversary(y, rng), "ghost": None}

    before = Ensemble(_config(("oracle", "adversary")))
    asleep = Ensemble(_config(("oracle", "adversary", "ghost")))
    _loop(before, _oracle_adversary, _uniform_outcome, 300, seed=5)
    _loop(asleep, with_ghost, _uniform_outcome, 300, seed=5)
    joined = Ensemble(_config(("oracle", "adversary", "ghost")))
    joined.load_state_dict(json.loads(json.dumps(before.state_dict())))
    for name, row in asleep.performance("X")["models"].items():
        assert joined.performance("X")["models"][name]["weight"] == pytest.approx(row["weight"])
    a = _loop(joined, with_ghost, _uniform_outcome, 200, seed=7)
    b = _loop(before, _oracle_adversary, _uniform_outcome, 200, seed=7)
    for (s1, _), (s2, _) in zip(a, b, strict=True):
        assert s1.probabilities == pytest.approx(s2.probabilities, rel=1e-9, abs=1e-12)

    def ghost_knows(y, rng):
        return {**_oracle_adversary(y, rng), "ghost": _pred("ghost", [0.15, 0.15, 0.7])}

    prior = joined.performance("X")["models"]["ghost"]["weight"]
    _loop(joined, ghost_knows, _uniform_outcome, 400, seed=8)  # bars past 300 are learned
    ghost = joined.performance("X")["models"]["ghost"]
    assert ghost["outcomes"] > 50 and ghost["weight"] != prior
    # and a member taken out of the configuration is dropped from the saved state
    fewer = Ensemble(_config(("oracle",)))
    fewer.load_state_dict(joined.state_dict())
    assert set(fewer.performance("X")["models"]) == {"oracle", "base_rate", "stacker"}


def test_performance_shows_every_expert_and_the_certificate():
    ens = Ensemble(_config(("weak", "liar", "sleepy")))
    _loop(ens, _no_edge, _skewed_outcome, 300, seed=8)
    perf = ens.performance("X")
    assert set(perf["models"]) == {"weak", "liar", "sleepy", "base_rate", "stacker"}
    for row in perf["models"].values():
        assert {"weight", "cumulative_log_loss", "sign_hit_rate", "outcomes"} <= set(row)
    assert math.isclose(sum(r["weight"] for r in perf["models"].values()), 1.0)
    assert perf["ensemble"]["outcomes"] == 300 - H
    cert = perf["actionable"]
    assert {"certified", "level", "lower_bound", "break_even", "levels"} <= set(cert)
    assert perf["threshold"]["current"] == 1.0 and perf["threshold"]["certified"] is False


def test_warm_start_seeds_the_base_rate_once():
    ens = Ensemble(_config(("oracle",)))
    assert ens.warm_start("X", [1] * 90 + [0] * 5 + [2] * 5) == 100
    base = ens.performance("X")["base_rate"]
    assert base["flat"] > 0.8
    assert ens.warm_start("X", [0] * 100) == 0  # already has history
    assert Ensemble(EnsembleConfig.preset("original")).warm_start("X", [1]) == 0
