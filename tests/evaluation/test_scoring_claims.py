"""Per-slice scoring on a hand-made case, and the three claims' arithmetic."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from models.evaluation.claims import (
    confidence_profile,
    ensemble_claim,
    filter_claim,
    transformer_claim,
)
from models.evaluation.outcomes import Outcomes
from models.evaluation.scoring import classification_scores
from models.evaluation.signals import Signals
from models.evaluation.tables import POOLED


def outcomes(label, fwd, regime=None) -> Outcomes:
    n = len(label)
    return Outcomes(
        rows=np.arange(n),
        timestamps=np.arange(n).astype("datetime64[h]").astype("datetime64[us]"),
        label=np.asarray(label, float),
        forward_return=np.asarray(fwd, float),
        next_return=np.zeros(n),
        band=np.full(n, 0.01),
        resolve_row=np.full(n, -1),
        realized_return=np.full(n, np.nan),
        regime=np.asarray(regime or ["ranging"] * n),
    )


def test_classification_scores_by_hand():
    out = outcomes([2, 0, 1, 2, np.nan], [0.03, -0.02, 0.001, 0.02, np.nan])
    probs = np.array(
        [[0.1, 0.2, 0.7], [0.6, 0.3, 0.1], [0.2, 0.3, 0.5], [0.3, 0.5, 0.2], [0.1, 0.1, 0.8]]
    )
    direction = np.array([1, -1, 1, 0, 1], np.int8)
    covered = np.array([True, True, True, True, False])
    sig = Signals("s", "predictor", direction, covered, direction != 0, probs, probs.max(axis=1))
    got = classification_scores(sig, out, np.ones(5, bool))
    assert got["bars"] == 5 and got["coverage"] == pytest.approx(0.8)
    # covered and labelled: rows 0-3; right on 0 (up) and 1 (down); 2 said up (flat), 3 flat (up)
    assert got["accuracy"] == pytest.approx(2 / 4)
    assert got["signals"] == 3  # row 4 is not covered, row 3 is flat
    assert got["win_rate"] == pytest.approx(2 / 3) and got["false_signals"] == 1
    assert got["false_per_1000"] == pytest.approx(200.0)
    assert got["hit_rate"] == pytest.approx(1.0)  # row 2's small rise still has the right sign
    assert got["log_loss"] == pytest.approx(-np.mean(np.log([0.7, 0.6, 0.3, 0.2])))


def test_scores_of_an_empty_slice_are_blank():
    out = outcomes([2, 0], [0.01, -0.01])
    sig = Signals("s", "baseline", np.array([1, 1], np.int8), np.ones(2, bool), np.ones(2, bool))
    got = classification_scores(sig, out, np.zeros(2, bool))
    assert got["bars"] == 0 and math.isnan(got["coverage"]) and math.isnan(got["ic"])


def pooled_rows(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame([{"symbol": POOLED, "regime": "all", **r} for r in rows])


def test_ensemble_and_filter_claims_by_hand():
    svc = "ens_weighted_regime_dynamic"
    cls = pooled_rows(
        [
            {
                "strategy": "indicators",
                "win_rate": 0.40,
                "signals": 500,
                "false_signals": 300,
                "false_signal_rate": 0.6,
            },
            {
                "strategy": "smc",
                "win_rate": 0.50,
                "signals": 400,
                "false_signals": 200,
                "false_signal_rate": 0.5,
            },
            {
                "strategy": f"{svc}_filtered",
                "win_rate": 0.60,
                "signals": 75,
                "false_signals": 30,
                "false_signal_rate": 0.4,
            },
            {
                "strategy": f"{svc}_unfiltered",
                "win_rate": 0.45,
                "signals": 182,
                "false_signals": 100,
                "false_signal_rate": 100 / 182,
            },
        ]
    )
    claim = ensemble_claim(cls, svc, ["indicators", "smc", "transformer"])
    assert claim.details["best_single"] == "smc"
    assert claim.measured == pytest.approx(0.60 / 0.50 - 1)  # +20 %
    claim = filter_claim(cls, svc)
    assert claim.measured == pytest.approx(0.70)  # 30 false signals instead of 100
    assert claim.details["wins_filtered"] == 45 and claim.details["wins_unfiltered"] == 82
    assert "70.0% fewer" in claim.verdict


def test_claims_say_when_they_cannot_be_measured():
    svc = "ens_weighted_regime_dynamic"
    cls = pooled_rows(
        [
            {
                "strategy": "smc",
                "win_rate": 0.5,
                "signals": 4,
                "false_signals": 2,
                "false_signal_rate": 0.5,
                "accuracy": 0.4,
                "ic": 0.0,
            },
            {
                "strategy": f"{svc}_filtered",
                "win_rate": float("nan"),
                "signals": 0,
                "false_signals": 0,
                "false_signal_rate": float("nan"),
                "accuracy": 0.4,
                "ic": 0.0,
            },
            {
                "strategy": f"{svc}_unfiltered",
                "win_rate": 0.55,
                "signals": 9,
                "false_signals": 4,
                "false_signal_rate": 4 / 9,
                "accuracy": 0.4,
                "ic": 0.0,
            },
        ]
    )
    trade = cls.with_columns(pl.lit(5.0).alias("cost_bps"), pl.lit(0.0).alias("sharpe"))
    assert "no trained Transformer" in transformer_claim(cls, trade, 5.0).verdict
    claim = ensemble_claim(cls, svc, ["smc"])
    assert math.isnan(claim.measured) and "issued no signal" in claim.verdict
    profile = {"confidence_max": 0.48, "threshold_min": 0.7, "threshold_median": 0.9}
    claim = filter_claim(cls, svc, profile)
    assert claim.measured == pytest.approx(1.0)  # no signal, no false signal
    assert "let no signal through" in claim.verdict and "0.480" in claim.verdict


def test_transformer_claim_by_hand():
    cls = pooled_rows(
        [
            {"strategy": "transformer", "accuracy": 0.44, "win_rate": 0.3, "ic": 0.02},
            {"strategy": "cnn_lstm", "accuracy": 0.40, "win_rate": 0.3, "ic": 0.01},
            {"strategy": "indicators", "accuracy": 0.55, "win_rate": 0.2, "ic": -0.02},
        ]
    )
    trade = cls.with_columns(pl.lit(5.0).alias("cost_bps"), pl.lit(1.0).alias("sharpe"))
    claim = transformer_claim(cls, trade, 5.0)
    assert claim.measured == pytest.approx(0.10)
    assert claim.details["accuracy_vs_indicators"] == pytest.approx(0.44 / 0.55 - 1)
    assert claim.details["ic_minus_indicators"] == pytest.approx(0.04)


def test_confidence_profile_reads_covered_bars_and_thresholds():
    conf = np.array([0.2, 0.9, 0.4, 0.5])
    sig = Signals(
        "e", "ensemble", np.zeros(4, np.int8), np.array([True, False, True, True]),
        np.zeros(4, bool), confidence=conf, threshold=np.array([0.7, 0.9, 0.9, 0.9]),
    )  # fmt: skip
    got = confidence_profile(sig)
    assert got["confidence_max"] == 0.5  # bar 1 is degraded: not counted
    assert got["threshold_min"] == 0.7 and got["threshold_median"] == 0.9
