"""Ranking metrics: weekly IC and its steadiness, the score's sign test, score deciles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.evaluation.metrics import information_coefficient
from models.evaluation.ranking import (
    MIN_WEEK_BARS,
    ranking_scores,
    score_deciles,
    weekly_ics,
)

HOUR = np.timedelta64(1, "h")


def _hours(n: int, start: str = "2023-01-02") -> np.ndarray:
    return (np.datetime64(start, "h") + np.arange(n) * HOUR).astype("datetime64[us]")


def test_weekly_ics_are_the_ic_of_each_calendar_week():
    rng = np.random.default_rng(0)
    n = 24 * 7 * 3
    ts = _hours(n)  # 2023-01-02 is a Monday, but weeks here count from the epoch
    score, fwd = rng.normal(size=n), rng.normal(size=n)
    weeks = ts.astype(np.int64) // (7 * 24 * 3600 * 1_000_000)
    expected = [
        information_coefficient(score[weeks == w], fwd[weeks == w])
        for w in np.unique(weeks)
        if (weeks == w).sum() >= MIN_WEEK_BARS
    ]
    assert weekly_ics(score, fwd, ts) == pytest.approx(expected)


def test_icir_is_high_for_a_steady_edge_and_near_zero_without_one():
    rng = np.random.default_rng(1)
    n = 24 * 7 * 20
    ts = _hours(n)
    score = rng.normal(size=n)
    steady = ranking_scores(score, 0.3 * score + rng.normal(size=n), ts)
    noise = ranking_scores(score, rng.normal(size=n), ts)
    assert steady["ic_weeks"] == noise["ic_weeks"] >= 19
    assert steady["icir"] > 2.0 and abs(noise["icir"]) < 0.6
    assert steady["score_pt_stat"] > 5 and steady["score_pt_pvalue"] < 1e-6
    assert noise["score_pt_pvalue"] > 0.01


def test_without_a_score_everything_is_blank():
    out = ranking_scores(None, np.zeros(3), _hours(3))
    assert out["ic_weeks"] == 0 and all(
        math.isnan(out[k]) for k in ("icir", "score_pt_stat", "score_pt_pvalue")
    )


def test_score_deciles_rank_the_mean_return():
    rng = np.random.default_rng(2)
    score = rng.normal(size=5000)
    fwd = 0.5 * score + rng.normal(size=5000)
    correct = rng.random(5000) < 0.4
    rows, rho_acc, rho_ret = score_deciles(score, correct, fwd)
    assert [r["bin"] for r in rows] == list(range(10))
    assert sum(r["count"] for r in rows) == 5000
    assert rho_ret == pytest.approx(1.0)
    assert all(r["lower"] <= r["mean_score"] <= r["upper"] for r in rows)
    assert -1.0 <= rho_acc <= 1.0
    empty, rho_a, rho_r = score_deciles(np.zeros(0), np.zeros(0, bool), np.zeros(0))
    assert empty == [] and math.isnan(rho_a) and math.isnan(rho_r)
