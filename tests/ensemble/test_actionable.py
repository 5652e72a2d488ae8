"""The actionable rule: nothing certified on null data, certified with a planted edge."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from models.ensemble.actionable import ActionableRule, clopper_pearson_lower
from models.ensemble.learning_config import ActionableConfig

H = 4


def _feed(rule: ActionableRule, rng: np.random.Generator, n: int, hit_prob) -> None:
    for bar in range(0, n * H, H):  # one signal every h bars: every one counts
        confidence = float(rng.uniform(0.34, 0.7))
        direction = 1 if rng.random() < 0.5 else -1
        size = abs(rng.normal(0.0, 0.01))
        hit = rng.random() < hit_prob(confidence)
        rule.update("X", bar, direction, confidence, direction * size * (1 if hit else -1))


def test_clopper_pearson_lower_bound():
    assert clopper_pearson_lower(0, 10, 0.05) == 0.0
    assert clopper_pearson_lower(10, 10, 0.05) == pytest.approx(0.05 ** (1 / 10))
    # the exact (Clopper-Pearson) interval of scipy at 90 % two-sided = 95 % one-sided
    exact = stats.binomtest(60, 100).proportion_ci(0.90, method="exact").low
    assert clopper_pearson_lower(60, 100, 0.05) == pytest.approx(exact, rel=1e-9)


def test_null_data_certifies_nothing_in_at_least_one_minus_delta_of_seeds():
    # no costs: break-even is exactly 1/2, the hardest null for the rule
    cfg = ActionableConfig(round_trip_cost_bps=0.0, delta=0.1)
    seeds = 200
    certified = 0
    for seed in range(seeds):
        rule = ActionableRule(cfg, spacing=H)
        _feed(rule, np.random.default_rng(seed), 400, lambda c: 0.5)
        certified += rule.threshold("X") is not None
    assert certified <= cfg.delta * seeds


def test_planted_edge_is_certified_and_reaches_its_precision():
    cfg = ActionableConfig()
    rule = ActionableRule(cfg, spacing=H)
    rng = np.random.default_rng(7)
    edge = lambda c: 0.5 + (c - 0.34) * 0.8  # noqa: E731  hit rate rises with confidence
    _feed(rule, rng, 3000, edge)
    level = rule.threshold("X")
    assert level is not None and level < 0.6
    summary = rule.summary("X")
    assert summary["certified"] and summary["lower_bound"] > summary["break_even"]
    # fresh signals at or above the certified level are right at least break-even often
    fresh = rng.uniform(level, 0.7, 5000)
    hits = rng.random(5000) < edge(fresh)
    assert hits.mean() > summary["break_even"]


def test_overlapping_signals_count_once():
    rule = ActionableRule(ActionableConfig(), spacing=H)
    for bar in range(10):  # ten consecutive bars: outcomes overlap, 3 windows apart
        rule.update("X", bar, 1, 0.5, 0.01)
    counts = {row["level"]: row["signals"] for row in rule.evidence("X")}
    assert counts[0.34] == 3 and counts[0.52] == 0  # bars 0, 4, 8


def test_state_round_trip():
    rule = ActionableRule(ActionableConfig(), spacing=H)
    _feed(rule, np.random.default_rng(3), 200, lambda c: 0.7)
    again = ActionableRule(ActionableConfig(), spacing=H)
    again.load_state_dict(rule.state_dict())
    assert again.summary("X") == rule.summary("X")
