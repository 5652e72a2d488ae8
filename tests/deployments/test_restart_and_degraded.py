"""A full app restart loses nothing; a predictor that is down or late degrades the answer.

One restart serves both: the app is deleted (every replica stops) and deployed again on
the same state file, with the indicators deployment replaced by one that fails and the
SMC deployment by one that never answers within the deadline. (Named to run after the
other HTTP tests; any later test gets the normal app back through the ``api`` fixture.)
"""

from __future__ import annotations

import time

import pytest

from tests.deployments.conftest import DEADLINE_S, MODEL_SYMBOL, candles_json

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_restart_keeps_state_and_broken_predictors_degrade(api, real_candles, btc):
    link = real_candles("LINKUSDT").slice(2000, 300)
    url = "/v1/candles/LINKUSDT"
    r = api.client.post(url, json={"candles": candles_json(link.head(299))}, headers=api.auth)
    assert r.status_code == 201, r.text
    pid = api.signal("LINKUSDT").json()["prediction_id"]
    outcome = {"prediction_id": pid, "realized_return": -0.02}
    assert api.client.post("/v1/outcomes", json=outcome, headers=api.auth).status_code == 200
    assert api.append("LINKUSDT", link.tail(1)).status_code == 201
    pending = api.signal("LINKUSDT").json()["prediction_id"]  # due 4 bars later
    before = {
        "candles": api.client.get(url, params={"limit": 1000}).json(),
        "performance": api.client.get("/v1/performance/LINKUSDT").json(),
    }

    api.restart("broken")

    assert api.client.get(url, params={"limit": 1000}).json() == before["candles"]
    after = api.client.get("/v1/performance/LINKUSDT").json()
    # The pooled base rate is shared with every symbol: opening the state resolves other
    # tests' predictions that became due, which may move it. What is LINKUSDT's own (its
    # combiner, its members' scores, certificate, counts) is unchanged.
    shared = ("base_rate",)
    assert {k: v for k, v in after.items() if k not in shared} == {
        k: v for k, v in before["performance"].items() if k not in shared
    }
    assert api.client.post("/v1/outcomes", json=outcome, headers=api.auth).status_code == 409
    # the prediction still pending before the restart resolves after it
    more = {"candles": candles_json(real_candles("LINKUSDT").slice(2300, 4))}
    assert api.client.post(url, json=more, headers=api.auth).json()["resolved"] == [pending]

    started = time.monotonic()
    r = api.predict(MODEL_SYMBOL, btc.slice(13000, 260))
    elapsed = time.monotonic() - started
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["degraded"] is True
    assert body["unavailable"]["smc"] == "timeout"
    assert body["unavailable"]["indicators"].startswith("error: ")
    assert "predictor crashed" in body["unavailable"]["indicators"]
    assert body["models"]["transformer"]["status"] == "ok"  # the rest still answered
    assert body["models"]["smc"]["weight"] == 0.0
    assert DEADLINE_S <= elapsed < DEADLINE_S + 5.0  # dropped at the deadline, not waited for

    health = api.client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["deployments"]["indicators"].startswith("error")
    assert health.json()["deployments"]["smc"] == "ok"  # alive, only slow
