"""Voting rules, checked against numbers worked out by hand."""

from __future__ import annotations

import pytest

from models.ensemble import Ensemble
from models.ensemble.voting import apply_floor, direction_of, majority_vote, weighted_vote
from tests.ensemble.helpers import config, pred

# Four disagreeing models; default static weights 0.4 / 0.3 / 0.2 / 0.1.
MIXED = {
    "transformer": pred("transformer", (0.1, 0.2, 0.7), 0.8),  # up
    "cnn_lstm": pred("cnn_lstm", (0.2, 0.3, 0.5), 0.5),  # up
    "indicators": pred("indicators", (0.3, 0.4, 0.3), 0.5),  # flat
    "smc": pred("smc", (0.6, 0.3, 0.1), 1.0),  # down
}


def test_weighted_by_hand() -> None:
    sig = Ensemble(config()).combine("BTCUSDT", MIXED)
    # up   = .4*.7 + .3*.5 + .2*.3 + .1*.1 = .28 + .15 + .06 + .01 = .50
    # flat = .4*.2 + .3*.3 + .2*.4 + .1*.3 = .08 + .09 + .08 + .03 = .28
    # down = .4*.1 + .3*.2 + .2*.3 + .1*.6 = .04 + .06 + .06 + .06 = .22
    assert sig.probabilities == pytest.approx((0.22, 0.28, 0.50), abs=1e-12)
    assert sig.direction == 1 and sig.confidence == pytest.approx(0.50, abs=1e-12)
    # transformer + cnn_lstm point up: agreement .4 + .3
    assert sig.agreement == pytest.approx(0.7, abs=1e-12)
    assert sig.coverage == pytest.approx(1.0)
    weights = {m: c.weight for m, c in sig.contributions.items()}
    assert weights == pytest.approx(
        {"transformer": 0.4, "cnn_lstm": 0.3, "indicators": 0.2, "smc": 0.1}
    )
    # below the 0.7 threshold: a BUY reading that is not actionable; FAIR (conf >= .5)
    assert (sig.signal, sig.actionable, sig.quality) == ("BUY", False, "FAIR")
    assert sig.voting_method == "weighted" and sig.weight_mode == "static"


def test_confidence_weighted_by_hand() -> None:
    sig = Ensemble(config(voting_method="confidence_weighted")).combine("BTCUSDT", MIXED)
    # w*c = .32, .15, .10, .10 (sum .67)
    # up   = (.32*.7 + .15*.5 + .10*.3 + .10*.1) / .67 = .339 / .67
    # flat = (.32*.2 + .15*.3 + .10*.4 + .10*.3) / .67 = .179 / .67
    # down = (.32*.1 + .15*.2 + .10*.3 + .10*.6) / .67 = .152 / .67
    expected = (0.152 / 0.67, 0.179 / 0.67, 0.339 / 0.67)
    assert sig.probabilities == pytest.approx(expected, abs=1e-12)
    assert sig.confidence == pytest.approx(0.339 / 0.67, abs=1e-12)
    assert sig.contributions["transformer"].weight == pytest.approx(0.32 / 0.67)
    assert sig.contributions["smc"].weight == pytest.approx(0.10 / 0.67)
    assert sig.agreement == pytest.approx(0.47 / 0.67)


def test_majority_by_hand() -> None:
    sig = Ensemble(config(voting_method="majority")).combine("BTCUSDT", MIXED)
    # votes: up, up, flat, down -> shares (down, flat, up) = (.25, .25, .5)
    assert sig.probabilities == pytest.approx((0.25, 0.25, 0.5))
    # confidence = share .5 x mean confidence of the up voters (.8 + .5) / 2
    assert sig.confidence == pytest.approx(0.5 * 0.65)
    assert sig.agreement == pytest.approx(0.5)
    assert all(c.weight == pytest.approx(0.25) for c in sig.contributions.values())


def test_majority_split_vote_is_flat_with_zero_confidence() -> None:
    preds = {
        "transformer": pred("transformer", (0.1, 0.2, 0.7), 0.9),
        "cnn_lstm": pred("cnn_lstm", (0.1, 0.2, 0.7), 0.9),
        "indicators": pred("indicators", (0.7, 0.2, 0.1), 0.9),
        "smc": pred("smc", (0.7, 0.2, 0.1), 0.9),
    }
    sig = Ensemble(config(voting_method="majority")).combine("ETHUSDT", preds)
    assert sig.probabilities == pytest.approx((0.5, 0.0, 0.5))
    assert (sig.direction, sig.signal, sig.confidence, sig.actionable) == (0, "HOLD", 0.0, False)


def test_direction_ties_are_flat() -> None:
    assert direction_of((0.2, 0.3, 0.5)) == 1
    assert direction_of((0.5, 0.3, 0.2)) == -1
    assert direction_of((0.2, 0.6, 0.2)) == 0
    assert direction_of((0.4, 0.2, 0.4)) == 0
    assert direction_of((0.2, 0.4, 0.4)) == 0


def test_pure_rules_on_small_inputs() -> None:
    vote = weighted_vote([(0.0, 0.0, 1.0), (1.0, 0.0, 0.0)], [3.0, 1.0])
    assert vote.probabilities == pytest.approx((0.25, 0.0, 0.75))
    assert vote.weights == pytest.approx((0.75, 0.25))
    vote = majority_vote([(0.0, 0.0, 1.0), (0.0, 0.0, 1.0), (1.0, 0.0, 0.0)], [0.6, 0.9, 0.3])
    assert vote.probabilities == pytest.approx((1 / 3, 0.0, 2 / 3))
    assert vote.confidence == pytest.approx(2 / 3 * 0.75)


def test_apply_floor_by_hand() -> None:
    # .4/.55 and .15/.55 keep their ratio in 1 - 2 * .05 = .9; the zeros get the floor
    got = apply_floor([0.4, 0.15, 0.0, 0.0], 0.05)
    assert got == pytest.approx((0.4 / 0.55 * 0.9, 0.15 / 0.55 * 0.9, 0.05, 0.05))
    # pinning one entry can push another under the floor: both end at the floor
    got = apply_floor([0.9, 0.06, 0.04], 0.1)
    assert got == pytest.approx((0.8, 0.1, 0.1))
    assert apply_floor([1.0, 0.0, 0.0], 0.5) == pytest.approx((1 / 3, 1 / 3, 1 / 3))


@pytest.mark.parametrize(
    ("vector", "label", "quality"),
    [
        # up = .81 >= .7 + .1 margin -> strong; conf >= .8, agreement 1 -> EXCELLENT
        ((0.09, 0.10, 0.81), "STRONG_BUY", "EXCELLENT"),
        ((0.10, 0.15, 0.75), "BUY", "GOOD"),
        ((0.81, 0.10, 0.09), "STRONG_SELL", "EXCELLENT"),
        ((0.72, 0.18, 0.10), "SELL", "GOOD"),
        ((0.05, 0.85, 0.10), "HOLD", "EXCELLENT"),
        ((0.30, 0.25, 0.45), "BUY", "POOR"),
    ],
)
def test_labels_and_quality_grades(vector: tuple, label: str, quality: str) -> None:
    preds = {m: pred(m, vector, 0.9) for m in ("transformer", "cnn_lstm", "indicators", "smc")}
    sig = Ensemble(config()).combine("BTCUSDT", preds)
    assert (sig.signal, sig.quality) == (label, quality)
    assert sig.actionable == (max(vector) >= 0.7 and vector[1] != max(vector))
    if not sig.actionable:
        assert sig.reasons
