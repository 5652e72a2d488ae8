"""The served learned ensemble equals the evaluation's replay of the same bars.

Candles go in through the real HTTP API one bar at a time; each bar's stored signal
(``POST /v1/predict`` with the symbol alone: the feed's path, on the whole stored history,
so every indicator sees the same bars as the replay) resolves from the stored closes 4 bars
later and the state deployment learns it; the next signal must combine with exactly that
learned state. The replay is
``scripts/evaluate.py``'s code path (``predict_period``, ``replay``) on the same bars,
starting from the learned state the service held before (the pooled base rate is shared
with other symbols) and warm-started with the same resolved history.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.ensemble import Ensemble, EnsembleConfig
from models.evaluation.baselines import resolved_labels
from models.evaluation.replay import SERVICE
from models.labels import LabelConfig
from models.store import StateStore
from tests.deployments.conftest import candles_json
from tests.evaluation.rule_replay import replay_rules

pytestmark = [pytest.mark.ray, pytest.mark.slow]

SYMBOL = "DOGEUSDT"
HISTORY = 300
BARS = 100


def _replayed(frame: pl.DataFrame, state: dict | None) -> np.ndarray:
    ensemble = Ensemble(EnsembleConfig())
    if state is not None:
        ensemble.load_state_dict(state)
    ensemble.warm_start(SYMBOL, resolved_labels(frame, HISTORY, LabelConfig()))
    run = replay_rules(frame, HISTORY, ensemble, SYMBOL, SERVICE)
    return run.probabilities


def test_served_probabilities_equal_the_replay_of_the_same_bars(api, real_candles):
    frame = real_candles(SYMBOL).slice(15_000, HISTORY + BARS)  # no exchange gap in here
    url = f"/v1/candles/{SYMBOL}"
    store = StateStore(api.settings.state_db, read_only=True)
    before, _ = store.load_state("ensemble")
    store.close()
    r = api.client.post(url, json={"candles": candles_json(frame.head(HISTORY))}, headers=api.auth)
    assert r.status_code == 201, r.text
    served = []
    for i in range(HISTORY, frame.height):
        bar = candles_json(frame.slice(i, 1))
        r = api.client.post(url, json={"candles": bar}, headers=api.auth)
        assert r.status_code == 201, r.text
        assert len(r.json()["resolved"]) == (1 if i >= HISTORY + 4 else 0)
        answer = api.signal(SYMBOL)  # the stored series' signal: all of it is the window
        assert answer.status_code == 200, answer.text
        assert answer.json()["as_of"][:19] == frame["timestamp"][i].strftime("%Y-%m-%dT%H:%M:%S")
        probs = answer.json()["probabilities"]
        served.append([probs["down"], probs["flat"], probs["up"]])
    expected = _replayed(frame, before)
    np.testing.assert_allclose(np.asarray(served), expected, rtol=0, atol=1e-12)
    perf = api.client.get(f"/v1/performance/{SYMBOL}").json()
    assert perf["mode"] == "learned" and perf["ensemble"]["outcomes"] == BARS - 4
    assert {"weight", "cumulative_log_loss", "sign_hit_rate", "outcomes"} <= set(
        perf["models"]["indicators"]
    )
    assert perf["threshold"]["certified"] is False  # 96 outcomes certify nothing
    combiner = perf["combiner"]  # no combiner published for DOGEUSDT: from the prior
    assert combiner["source"] == "prior" and combiner["fitted"] is None
    assert combiner["ic"]["outcomes"] == BARS - 4
    assert set(combiner["weights"]) == set(perf["models"])
