"""Ensemble replay: the live loop, with outcomes learned only once their horizon has passed."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.ensemble import Ensemble, EnsembleConfig
from models.errors import ConfigError
from models.evaluation.outcomes import Outcomes, resolve_rows
from models.evaluation.replay import (
    ALL_VARIANTS,
    COLD,
    MEMBERS_MEAN,
    ORIGINAL,
    SERVICE,
    Variant,
    replay,
)
from models.predictors.base import Prediction
from tests.causality import assert_prefix_causal
from tests.evaluation.rule_replay import replay_rules

HOUR = np.timedelta64(1, "h")


def hours(values: list[int]) -> np.ndarray:
    return np.array(values, dtype="datetime64[h]").astype("datetime64[us]")


def test_resolve_rows_wait_h_intervals_and_skip_over_gaps():
    ts = hours([0, 1, 2, 3, 5, 6, 7, 8])
    assert resolve_rows(ts, 2).tolist() == [2, 3, 4, 4, 6, 7, -1, -1]


class SpyEnsemble(Ensemble):
    """Logs every combine (with the bar it is for) and every outcome (with its record)."""

    def __init__(self, config: EnsembleConfig) -> None:
        super().__init__(config)
        self.events: list[tuple[str, float]] = []

    def combine(self, symbol, predictions, regime=None, bar=None):
        self.events.append(("combine", predictions["indicators"].details["bar"]))
        return super().combine(symbol, predictions, regime, bar)

    def record_outcome(self, record, realized_return):
        self.events.append(("outcome", record.flat_band))
        return super().record_outcome(record, realized_return)


def synthetic_outcomes(ts: np.ndarray, horizon: int) -> Outcomes:
    n = ts.size
    rows = np.arange(n)
    return Outcomes(
        rows=rows,
        timestamps=ts,
        label=np.full(n, 1.0),
        forward_return=np.zeros(n),
        next_return=np.zeros(n),
        band=(rows + 1) * 1e-3,  # unique per bar: the record says which bar it came from
        resolve_row=resolve_rows(ts, horizon),
        realized_return=np.full(n, 0.01),
        regime=np.full(n, "ranging"),
    )


def test_outcomes_reach_the_ensemble_only_when_their_horizon_has_passed():
    ts = hours([0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 13])  # a 3-hour exchange gap
    h = 4
    outcomes = synthetic_outcomes(ts, h)
    n = ts.size
    preds = {
        "indicators": [
            Prediction("indicators", (0.1, 0.2, 0.7), 0.9, details={"bar": i}) for i in range(n)
        ],
        "smc": [Prediction("smc", (0.1, 0.3, 0.6), 0.8) for _ in range(n)],
    }
    spy = SpyEnsemble(EnsembleConfig())
    run = replay(spy, "BTCUSDT", preds, [None] * n, outcomes, ALL_VARIANTS[0])
    fed: dict[int, int] = {}  # bar of the signal -> bar before whose combine it was learned
    for k, (kind, value) in enumerate(spy.events):
        if kind == "outcome":
            bar = round(value / 1e-3) - 1
            fed[bar] = next(int(v) for kind2, v in spy.events[k:] if kind2 == "combine")
    for bar, learned_at in fed.items():
        assert ts[learned_at] - ts[bar] >= h * HOUR, f"signal of bar {bar} fed at bar {learned_at}"
        assert learned_at == outcomes.resolve_row[bar]  # and not later than the live loop would
    assert sorted(fed) == [i for i in range(n) if 0 <= outcomes.resolve_row[i] < n]
    assert run.outcomes_fed == len(fed)


def test_filtered_signals_are_a_subset_of_unfiltered_and_degraded_bars_are_uncovered():
    ts = hours(list(range(6)))
    outcomes = synthetic_outcomes(ts, 2)
    strong = Prediction("indicators", (0.05, 0.05, 0.9), 0.9)
    preds = {
        "indicators": [strong] * 6,
        "smc": [strong, strong, None, strong, strong, strong],  # bar 2: one model only
    }
    cfg = EnsembleConfig(mode="original", original={"confidence_threshold": 0.7})
    variant = Variant("ens_original_static", use_regime=False)
    run = replay(Ensemble(cfg), "X", preds, [None] * 6, outcomes, variant)
    filtered, unfiltered = run.signals(True), run.signals(False)
    assert not filtered.covered[2] and filtered.covered.sum() == 5
    assert np.all(filtered.actionable <= unfiltered.actionable)
    assert filtered.position.tolist() == [1, 1, 0, 1, 1, 1]
    assert filtered.name.endswith("_filtered") and unfiltered.name.endswith("_unfiltered")


def test_variant_configs_are_the_preset_with_their_changes():
    base = EnsembleConfig(members=("transformer", "smc"))
    assert SERVICE.config(base) == COLD.config(base) == base
    assert SERVICE.seeded and not COLD.seeded and not ORIGINAL.seeded
    original = ORIGINAL.config(base)
    assert original.mode == "original"
    assert original.original == EnsembleConfig.preset("original").original
    assert original.original.voting_method == "confidence_weighted"
    assert original.original.confidence_threshold == 0.7
    assert not original.original.adaptive_threshold.enabled
    cfg = MEMBERS_MEAN.config(base)
    assert cfg.learning.combiner.weights == "equal" and MEMBERS_MEAN.kind == "baseline"
    assert cfg.model_copy(update={"learning": base.learning}) == base
    assert len({v.name for v in ALL_VARIANTS}) == len(ALL_VARIANTS) == 4
    with pytest.raises(ConfigError, match="preset"):
        Variant("x", preset="nope").config(base)


def _replayed(frame: pl.DataFrame, start: int, variant: Variant = SERVICE) -> pl.DataFrame:
    """Ensemble signal of every bar from ``start`` (NaN before) computed on ``frame`` only."""
    cfg = variant.config(EnsembleConfig(original={"tracking": {"min_outcomes": 10}}))
    run = replay_rules(frame, start, Ensemble(cfg), "BTCUSDT", variant)
    pad = np.full(start, np.nan)
    return pl.DataFrame(
        {
            "direction": np.concatenate([pad, run.direction]),
            "confidence": np.concatenate([pad, run.confidence]),
            "threshold": np.concatenate([pad, run.threshold]),
            "p_up": np.concatenate([pad, run.probabilities[:, 2]]),
            "dynamic": np.concatenate([pad, run.dynamic]),
        }
    )


@pytest.mark.parametrize("variant", [SERVICE, ORIGINAL], ids=lambda v: v.name)
def test_replayed_ensemble_signals_are_prefix_causal_on_real_data(btc, variant):
    frame = btc.slice(9000, 1300)
    assert_prefix_causal(lambda f: _replayed(f, 600, variant), frame, [700, 1000])


def test_replayed_ensembles_learn_within_the_period(btc):
    frame = btc.slice(9000, 1300)
    learned = _replayed(frame, 600, SERVICE)["p_up"].tail(300).to_numpy()
    assert np.std(learned) > 0  # the standardized scores moved the base rate
    assert _replayed(frame, 600, ORIGINAL)["dynamic"].tail(300).sum() > 0


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda v: v.name)
def test_each_variant_name_says_what_it_is(variant):
    assert variant.name.startswith("ens_") == (variant.kind == "ensemble")
    assert ("cold" in variant.name) == (not variant.seeded and variant.preset != "original")


def test_a_baseline_variant_is_one_strategy_of_its_own_name():
    ts = hours(list(range(8)))
    preds = {m: [Prediction(m, (0.2, 0.3, 0.5), 0.5)] * 8 for m in ("indicators", "smc")}
    run = replay(
        Ensemble(MEMBERS_MEAN.config(EnsembleConfig())),
        "X",
        preds,
        [None] * 8,
        synthetic_outcomes(ts, 2),
        MEMBERS_MEAN,
    )
    (only,) = run.strategies()
    assert only.name == "members_mean" and only.kind == "baseline"
    assert [s.name for s in replace_variant(run).strategies()] == ["e_filtered", "e_unfiltered"]


def replace_variant(run):
    from dataclasses import replace

    return replace(run, variant=Variant("e"))
