"""The IC difference against the service: the point estimate is the pooled IC difference on
the paired bars, and its bootstrap spread tells a real edge from a lucky one."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from models.evaluation.ic_difference import ic_difference_table
from models.evaluation.metrics import information_coefficient
from models.evaluation.period import Period
from models.evaluation.signals import Signals
from models.evaluation.symbol_eval import SymbolResult
from tests.evaluation.answer_keys import answer_key

SERVICE = "ens_learned_unfiltered"


def _signals(name: str, kind: str, score: np.ndarray, covered: np.ndarray | None = None) -> Signals:
    n = score.size
    up = 0.35 + score / 2
    probs = np.column_stack([0.35 - score / 2, np.full(n, 0.3), up])
    covered = np.ones(n, bool) if covered is None else covered
    direction = np.sign(score).astype(np.int8)
    return Signals(name, kind, direction, covered, covered, probs, probs.max(axis=1))


def _result(symbol: str, seed: int, n: int = 2_000) -> SymbolResult:
    rng = np.random.default_rng(seed)
    fwd = rng.normal(size=n)
    label = np.sign(fwd) + 1.0
    label[-4:] = np.nan  # the last bars' outcomes are not resolved yet
    fwd[-4:] = np.nan
    edge = np.nan_to_num(fwd) * 0.3 + rng.normal(size=n)  # IC ~ +0.28
    noise = rng.normal(size=n) * 0.1
    half = np.arange(n) % 2 == 0
    signals = [
        _signals("lgbm", "predictor", np.tanh(edge) * 0.3),
        _signals("smc", "predictor", np.tanh(rng.normal(size=n)), covered=half),
        _signals("members_mean", "baseline", np.tanh(edge + rng.normal(size=n) * 3) * 0.3),
        _signals(SERVICE, "ensemble", noise),
        _signals("ens_learned_filtered", "ensemble", noise),
    ]
    stamps = np.datetime64("2023-01-01T00:00") + np.arange(n).astype("timedelta64[h]")
    outcomes = answer_key(stamps, label, fwd)
    start = datetime(2023, 1, 1, tzinfo=timezone.utc)
    period = Period(symbol, start, start, np.arange(n), "test")
    return SymbolResult(symbol, period, outcomes, signals, {})


@pytest.fixture(scope="module")
def table():
    results = [_result("AAAUSDT", 1), _result("BBBUSDT", 2)]
    return results, {
        r["strategy"]: r
        for r in ic_difference_table(results, SERVICE, draws=60).iter_rows(named=True)
    }


def test_rows_are_every_probabilistic_strategy_once_service_first(table) -> None:
    _, rows = table
    assert next(iter(rows)) == SERVICE
    assert set(rows) == {SERVICE, "lgbm", "smc", "members_mean"}  # the filtered twin left out
    assert rows[SERVICE]["minus_service"] == 0.0 and rows[SERVICE]["difference_se"] == 0.0


def test_point_estimate_is_the_pooled_ic_difference_on_paired_bars(table) -> None:
    results, rows = table
    # smc covers every other bar: both ICs are taken on those bars only
    picks = []
    for r in results:
        ok = r.outcomes.labelled & (np.arange(len(r.outcomes)) % 2 == 0)
        by = {s.name: s for s in r.signals}
        picks.append((by["smc"].score[ok], by[SERVICE].score[ok], r.outcomes.forward_return[ok]))
    smc, svc, fwd = (np.concatenate(x) for x in zip(*picks, strict=True))
    row = rows["smc"]
    assert row["bars"] == fwd.size
    assert row["ic"] == pytest.approx(information_coefficient(smc, fwd), abs=1e-12)
    assert row["service_ic"] == pytest.approx(information_coefficient(svc, fwd), abs=1e-12)


def test_real_edge_is_significant_and_noise_is_not(table) -> None:
    _, rows = table
    lgbm = rows["lgbm"]
    assert lgbm["minus_service"] > 0.2
    assert lgbm["p_value"] < 0.05
    assert 0 < lgbm["difference_se"] < 0.05
    # smc against the service: noise against noise, a difference within its own uncertainty
    smc = rows["smc"]
    assert abs(smc["minus_service"]) < 4 * smc["difference_se"]
    assert smc["difference_se"] > 0.005


def test_bootstrap_is_seeded() -> None:
    results = [_result("AAAUSDT", 3, n=500)]
    a = ic_difference_table(results, SERVICE, draws=20, seed=5)
    b = ic_difference_table(results, SERVICE, draws=20, seed=5)
    assert a.equals(b)
