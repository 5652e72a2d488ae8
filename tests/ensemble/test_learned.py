"""The learned combiner through the public API: standardized scores, learned weights,
calibrated probabilities, the base rate as fallback, outcomes learned once per bar,
published fits, version changes, state format and migration."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable

import numpy as np
import pytest
from scipy import stats

from models.ensemble import STATE_FORMAT, Ensemble, EnsembleConfig
from models.errors import EnsembleInputError
from models.predictors.base import Prediction

H = 4
BAND = 0.004

Members = Callable[[float, np.random.Generator], dict[str, Prediction | None]]


def _pred(model: str, probs, version: str | None = None) -> Prediction:
    probs = np.asarray(probs, dtype=float)
    probs = probs / probs.sum()
    return Prediction(model, tuple(probs), float(probs.max()), version=version)


def _tilted(model: str, lean: float, version: str | None = None) -> Prediction:
    """A member saying flat 0.4 and splitting the rest by ``lean`` (in [-1, 1])."""
    return _pred(model, [0.3 * (1 - lean), 0.4, 0.3 * (1 + lean)], version)


def _loop(ens: Ensemble, members: Members, bars: int, seed: int = 0, symbol: str = "X", edge=0.2):
    """The live loop: the outcome of bar t is learned at bar t + h, then bar t is combined.
    Each bar has a hidden signal ``s``; the return is ``edge * s`` plus noise."""
    rng = np.random.default_rng(seed)
    pending: deque = deque()
    out = []
    for bar in range(bars):
        while pending and pending[0][0] <= bar:
            _, record, ret = pending.popleft()
            ens.record_outcome(record, ret)
        s = float(rng.normal())
        ret = 0.01 * (edge * s + float(rng.normal()))
        signal = ens.combine(symbol, members(s, rng), None, bar)
        pending.append((bar + H, signal.to_record(BAND), ret))
        out.append((signal, ret))
    return out


def _edge_noise(s: float, rng) -> dict[str, Prediction | None]:
    """``edge`` sees the signal (with a strong upward bias), ``noise`` sees nothing."""
    return {
        "edge": _tilted("edge", float(np.tanh(0.5 * s + rng.normal())) * 0.3 + 0.5),
        "noise": _tilted("noise", float(np.tanh(rng.normal())) * 0.5),
    }


def _config(members, **combiner) -> EnsembleConfig:
    return EnsembleConfig(
        members=members, min_models=1, learning={"combiner": combiner} if combiner else {}
    )


def _ic(run) -> float:
    scores = np.array([s.probabilities[2] - s.probabilities[0] for s, _ in run])
    rets = np.array([r for _, r in run])
    return float(stats.spearmanr(scores, rets).statistic)


def test_the_member_with_the_edge_earns_the_weight_and_the_ranking_survives():
    ens = Ensemble(_config(("edge", "noise"), shrinkage=200))
    run = _loop(ens, _edge_noise, 6000, edge=0.5)
    combiner = ens.performance("X")["combiner"]
    assert combiner["weights"]["edge"] > 2 * abs(combiner["weights"]["noise"])
    tail = run[1000:]
    own = float(stats.spearmanr([s.experts["edge"][2] for s, _ in tail], [r for _, r in tail])[0])
    assert _ic(tail) > own - 0.04  # the ensemble keeps most of the member's ranking
    assert combiner["ic"]["ensemble"] > combiner["ic"]["members_mean"] > 0
    assert combiner["ic"]["outcomes"] == 6000 - H


def test_biases_and_scales_cancel_in_the_standardized_score():
    """An informative member with a small spread and a bias beside a loud one that knows
    nothing: averaging their probabilities lets the loud one swamp the information, their
    z-scores do not."""

    def members(s, rng):
        quiet = float(np.tanh(0.5 * s + rng.normal())) * 0.05 + 0.3
        loud = 0.6 * float(np.tanh(rng.normal()))
        return {"quiet": _tilted("quiet", quiet), "loud": _tilted("loud", loud)}

    run = _loop(Ensemble(_config(("quiet", "loud"), weights="equal")), members, 4000, seed=1)
    tail = run[1000:]
    rets = [r for _, r in tail]
    raw = [sum(s.experts[m][2] - s.experts[m][0] for m in ("quiet", "loud")) for s, _ in tail]
    raw_ic = float(stats.spearmanr(raw, rets).statistic)
    score_ic = float(stats.spearmanr([s.score for s, _ in tail], rets).statistic)
    assert score_ic > raw_ic + 0.02


def test_with_every_member_missing_the_probabilities_are_the_base_rate():
    ens = Ensemble(_config(("edge", "noise")))
    _loop(ens, _edge_noise, 400)
    signal = ens.combine("X", {"edge": None, "noise": None}, None, 1000)
    base = ens.performance("X")["base_rate"]
    assert signal.probabilities == pytest.approx((base["down"], base["flat"], base["up"]))
    assert any("base rate" in r for r in signal.reasons) and signal.quality == "POOR"


def test_a_member_that_is_always_missing_changes_nothing():
    def with_ghost(s, rng):
        return {**_edge_noise(s, rng), "ghost": None}

    ghost = Ensemble(_config(("edge", "noise", "ghost")))
    plain = Ensemble(_config(("edge", "noise")))
    a = _loop(ghost, with_ghost, 600, seed=5)
    b = _loop(plain, _edge_noise, 600, seed=5)
    for (s1, _), (s2, _) in zip(a, b, strict=True):
        assert s1.probabilities == pytest.approx(s2.probabilities, rel=1e-9, abs=1e-12)
    assert a[-1][0].missing_models == {"ghost": "missing"}


def test_log_loss_beats_the_base_rate_and_confidence_is_calibrated():
    ens = Ensemble(_config(("edge", "noise")))
    run = _loop(ens, _edge_noise, 6000, seed=2)
    tail = run[1000:]
    probs = np.array([s.probabilities for s, _ in tail])
    ys = np.array([int(np.sign(r) * (abs(r) > BAND)) + 1 for _, r in tail])
    loss = -np.mean(np.log(probs[np.arange(len(ys)), ys]))
    freq = np.bincount(ys, minlength=3) / len(ys)
    assert loss < -np.mean(np.log(freq[ys]))  # the base rate known in hindsight
    conf = np.array([s.confidence for s, _ in tail])
    called = np.array([s.direction + 1 for s, _ in tail])
    assert np.allclose(conf, probs[np.arange(len(ys)), called])  # confidence = P(called class)
    assert ens.performance("X")["ensemble"]["calibration"]["ece"] < 0.03


def _no_edge(s: float, rng) -> dict[str, Prediction | None]:
    return {m: _pred(m, rng.dirichlet([2.0, 2.0, 2.0])) for m in ("a", "b")}


def test_nothing_is_actionable_without_certified_evidence():
    ens = Ensemble(_config(("a", "b")))
    for signal, _ in _loop(ens, _no_edge, 3000, seed=3)[100:]:  # after the warm-up
        assert not signal.actionable and signal.threshold == 1.0
        if signal.direction != 0:
            assert any("no confidence level is certified" in r for r in signal.reasons)
            assert signal.quality == "FAIR" and signal.signal in ("BUY", "SELL")


def test_an_edge_earns_actionable_signals_with_their_precision():
    def sharp(s, rng):
        return {"m": _tilted("m", float(np.tanh(3 * s)) * 0.9)}

    ens = Ensemble(_config(("m",)))
    rng = np.random.default_rng(4)
    pending: deque = deque()
    actionable = []
    for bar in range(4000):
        while pending and pending[0][0] <= bar:
            ens.record_outcome(*pending.popleft()[1:])
        s = float(rng.normal())
        ret = 0.01 * (s + 0.3 * float(rng.normal()))  # a strong, learnable edge
        signal = ens.combine("X", sharp(s, rng), None, bar)
        pending.append((bar + H, signal.to_record(BAND), ret))
        if signal.actionable:
            actionable.append(signal.direction == np.sign(ret))
    assert len(actionable) > 200
    assert np.mean(actionable) > ens.performance("X")["actionable"]["break_even"]


def test_each_bar_is_learned_once_and_old_records_teach_nothing():
    ens = Ensemble(_config(("edge", "noise")))
    preds = _edge_noise(1.0, np.random.default_rng(0))
    first = ens.combine("X", preds, None, 10).to_record(BAND)
    second = ens.combine("X", preds, None, 10).to_record(BAND)
    assert ens.record_outcome(first, 0.02)["learned"] is True
    again = ens.record_outcome(second, 0.02)
    assert again["learned"] is False and "already learned" in again["reason"]
    assert ens.performance("X")["ensemble"]["outcomes"] == 1
    old = {**first.to_dict(), "bar": 14, "inputs": None}  # a record of the mixture era
    from models.ensemble import SignalRecord

    change = ens.record_outcome(SignalRecord.from_dict(old), 0.01)
    assert change["learned"] is False and "no learned-combiner forecast" in change["reason"]


def test_the_learned_combiner_needs_the_bar_index():
    ens = Ensemble(_config(("edge",)))
    with pytest.raises(EnsembleInputError, match="bar"):
        ens.combine("X", {"edge": _tilted("edge", 0.1)}, None)


def test_state_round_trip_gives_identical_future_signals():
    ens = Ensemble(_config(("edge", "noise")))
    _loop(ens, _edge_noise, 500, seed=6)
    state = json.loads(json.dumps(ens.state_dict()))
    assert state["format"] == STATE_FORMAT == 3 and state["mode"] == "learned"
    assert set(state["state"]["symbols"]) == {"X"}
    restored = Ensemble.from_state_dict(state)
    later = [s.probabilities for s, _ in _loop(ens, _edge_noise, 100, seed=9)]
    again = [s.probabilities for s, _ in _loop(restored, _edge_noise, 100, seed=9)]
    assert later == again


def test_old_formats_are_migrated_and_unknown_ones_refused():
    ens = Ensemble(_config(("edge", "noise")))
    _loop(ens, _edge_noise, 300)
    now = ens.state_dict()["state"]
    v2 = {
        "format": 2,
        "config": {},
        "original": {"trackers": {}, "thresholds": {}},
        "learned": {
            "mixture": {"experts": ["edge", "base_rate"], "weights": {}},
            "stacker": None,
            **{k: now[k] for k in ("base_rate", "actionable", "scores", "learned_bars")},
        },
    }
    migrated = Ensemble(_config(("edge", "noise")))
    migrated.load_state_dict(v2)
    assert migrated.performance("X")["base_rate"] == ens.performance("X")["base_rate"]
    assert migrated.performance("X")["combiner"]["ic"]["outcomes"] == 0  # starts afresh
    assert migrated.state_dict()["format"] == STATE_FORMAT
    fresh = Ensemble()
    fresh.load_state_dict({"format": 1, "config": {}, "trackers": {}, "thresholds": {}})
    assert fresh.state_dict()["state"]["symbols"] == {}
    with pytest.raises(EnsembleInputError, match="format"):
        fresh.load_state_dict({"format": 4})
    broken = ens.state_dict()
    broken["state"]["symbols"]["X"]["direction"]["xtx"] = [[1.0]]
    with pytest.raises(EnsembleInputError, match="regression"):
        fresh.load_state_dict(broken)


def test_a_member_added_later_starts_unlearned_and_a_removed_one_is_dropped():
    before = Ensemble(_config(("edge", "noise")))
    _loop(before, _edge_noise, 300, seed=5)
    joined = Ensemble(_config(("edge", "noise", "late")))
    joined.load_state_dict(json.loads(json.dumps(before.state_dict())))
    preds = {**_edge_noise(0.5, np.random.default_rng(1)), "late": _tilted("late", 0.2)}
    signal = joined.combine("X", preds, None, 400)
    assert any(r.startswith("late is left out: warming up") for r in signal.reasons)
    assert signal.probabilities == pytest.approx(
        before.combine("X", preds, None, 400).probabilities, rel=1e-5
    )
    fewer = Ensemble(_config(("edge",)))
    fewer.load_state_dict(before.state_dict())
    assert set(fewer.performance("X")["models"]) == {"edge"}


def test_performance_shows_the_combiner_and_the_certificate():
    ens = Ensemble(_config(("edge", "noise")))
    _loop(ens, _edge_noise, 300, seed=8)
    perf = ens.performance("X")
    assert set(perf["models"]) == {"edge", "noise"}
    for row in perf["models"].values():
        assert {"weight", "coefficient", "standardization", "sign_hit_rate", "outcomes"} <= set(row)
    assert sum(abs(r["weight"]) for r in perf["models"].values()) == pytest.approx(1.0)
    combiner = perf["combiner"]
    assert {"weights", "fitted", "ic", "calibration_map", "source"} <= set(combiner)
    assert combiner["fitted"] is None and combiner["source"] == "prior"
    assert set(combiner["ic"]) == {"ensemble", "members_mean", "outcomes"}
    assert perf["ensemble"]["outcomes"] == 300 - H
    assert perf["threshold"]["current"] == 1.0 and perf["threshold"]["certified"] is False


def test_warm_start_seeds_the_base_rate_once():
    ens = Ensemble(_config(("edge",)))
    assert ens.warm_start("X", [1] * 90 + [0] * 5 + [2] * 5) == 100
    assert ens.performance("X")["base_rate"]["flat"] > 0.8
    assert ens.warm_start("X", [0] * 100) == 0  # already has history
    assert Ensemble(EnsembleConfig.preset("original")).warm_start("X", [1]) == 0


def _published(ens: Ensemble, symbol: str = "X") -> dict:
    """A fit to publish: what ``ens`` learned about ``symbol`` with its provenance."""
    state = ens.state_dict()["state"]["symbols"][symbol]
    return {"format": 1, "state": state, "provenance": {"version": "v-test", "bars": 800}}


def test_a_cold_symbol_starts_from_the_published_fit_not_the_prior():
    trained = Ensemble(_config(("edge", "noise")))
    _loop(trained, _edge_noise, 800, seed=11)
    cold = Ensemble(_config(("edge", "noise")))
    assert cold.seed({"Y": _published(trained)}) == ["Y"]
    assert cold.seed({"Y": _published(trained)}) == []  # it has its state now
    preds = _edge_noise(1.0, np.random.default_rng(3))
    got = cold.combine("Y", preds, None, 5000)
    assert got.expert_weights == trained.combine("X", preds, None, 5000).expert_weights
    assert not any("left out" in r for r in got.reasons)
    assert (
        got.expert_weights
        != Ensemble(_config(("edge", "noise"))).combine("Y", preds, None, 5000).expert_weights
    )  # the prior knows nothing yet
    combiner = cold.performance("Y")["combiner"]
    assert combiner["source"] == "published fit" and combiner["fitted"]["version"] == "v-test"
    with pytest.raises(EnsembleInputError, match="published combiner format"):
        cold.seed({"Z": {"format": 9}})


def test_a_member_of_another_version_is_left_out_then_restarts():
    def versioned(version):
        def members(s, rng):
            out = _edge_noise(s, rng)
            out["edge"] = Prediction(**{**out["edge"].__dict__, "version": version})
            return out

        return members

    ens = Ensemble(_config(("edge", "noise")))
    _loop(ens, versioned("v1"), 600, seed=12)
    signal = ens.combine("X", versioned("v2")(0.0, np.random.default_rng(0)), None, 700)
    assert signal.expert_weights["edge"] == 0.0
    assert any("edge is left out: version v2 differs from v1" in r for r in signal.reasons)
    log = []
    rng = np.random.default_rng(2)
    for bar in range(700, 800):
        record = ens.combine("X", versioned("v2")(0.0, rng), None, bar).to_record(BAND)
        log.append(ens.record_outcome(record, 0.001))
    assert log[0]["restarted"] == ["edge"]
    standardization = ens.performance("X")["models"]["edge"]["standardization"]
    assert standardization["version"] == "v2" and standardization["bars"] > 50
    later = ens.combine("X", versioned("v2")(0.0, rng), None, 900)
    assert later.expert_weights["edge"] != 0.0


def test_equal_weights_are_the_members_mean():
    ens = Ensemble(_config(("edge", "noise"), weights="equal"))
    _loop(ens, _edge_noise, 600, seed=13)
    assert ens.performance("X")["combiner"]["weights"] == {"edge": 0.5, "noise": 0.5}


def _provenance(learned: float, equal: float, outcomes: int = 1000) -> dict:
    return {"fit_ic": {"ensemble": learned, "members_mean": equal, "outcomes": outcomes}}


def test_the_fit_publishes_learned_weights_only_when_they_ranked_the_held_out_bars_better():
    from models.ensemble.published import select_weights

    better = select_weights({"A": _provenance(0.05, 0.03), "B": _provenance(0.02, 0.03)})
    assert better["weights"] == "learned" and better["outcomes"] == 2000
    assert better["learned_ic"] == pytest.approx(0.035)
    worse = select_weights({"A": _provenance(0.05, 0.03, 100), "B": _provenance(0.0, 0.03)})
    assert worse["weights"] == "equal" and worse["members_mean_ic"] == pytest.approx(0.03)
    assert select_weights({"A": {"fit_ic": {"outcomes": 0}}})["weights"] == "equal"  # no evidence


def test_a_published_equal_choice_serves_the_members_mean_and_keeps_learning_in_the_shadow():
    trained = Ensemble(_config(("edge", "noise")))
    _loop(trained, _edge_noise, 800, seed=11)
    fit = _published(trained)
    fit["state"] = {**fit["state"], "weights": "equal"}
    cold = Ensemble(_config(("edge", "noise")))
    cold.seed({"Y": fit})
    combiner = cold.performance("Y")["combiner"]
    assert combiner["weights"] == {"edge": 0.5, "noise": 0.5}
    assert combiner["method"].startswith("equal") and combiner["selected_by_fit"] == "equal"
    before = combiner["learned_coefficients"]
    _loop(cold, _edge_noise, 200, seed=5, symbol="Y")
    after = cold.performance("Y")["combiner"]
    assert after["weights"] == {"edge": 0.5, "noise": 0.5}
    assert after["learned_coefficients"] != before
    restored = Ensemble(_config(("edge", "noise")))
    restored.load_state_dict(json.loads(json.dumps(cold.state_dict())))
    assert restored.performance("Y")["combiner"]["selected_by_fit"] == "equal"
    fit["state"]["weights"] = "best"
    with pytest.raises(EnsembleInputError, match="ensemble state weights"):
        Ensemble(_config(("edge", "noise"))).seed({"Z": fit})
