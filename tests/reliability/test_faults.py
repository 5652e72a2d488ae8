"""Faults on the real Serve app (local Ray): killed replicas, a restart, a slow predictor.

Each test hurts the reliability app (``harness.py``) while real 256-candle requests flow,
then checks what clients saw: no failed request where the design promises none, answers
marked ``degraded`` (naming what was missing) while a part is down or late, and recovery.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.harness import DEADLINE_S, VERSION_CHECK_S, ReliabilityApp, candles_json

pytestmark = [pytest.mark.ray, pytest.mark.slow]


class Flow:
    """``workers`` threads calling ``send(client, i)`` in a loop until stopped."""

    def __init__(
        self, app: ReliabilityApp, send: Callable[[httpx.Client, int], Any], workers: int = 3
    ) -> None:
        self.app, self.send, self.stop = app, send, threading.Event()
        self.results: list[tuple[float, Any]] = []
        self._lock = threading.Lock()
        self._count = 0
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(workers)]

    def _next(self) -> int:
        with self._lock:
            self._count += 1
            return self._count - 1

    def _run(self) -> None:
        with httpx.Client(base_url=self.app.base_url, timeout=60.0) as client:
            while not self.stop.is_set():
                i = self._next()
                outcome = self.send(client, i)
                if outcome is None:
                    return
                with self._lock:
                    self.results.append((time.monotonic(), outcome))

    def __enter__(self) -> Flow:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=90)


def _predict(window: list[dict[str, Any]]) -> Callable[[httpx.Client, int], Any]:
    def send(client: httpx.Client, _: int) -> tuple[int, dict[str, Any]]:
        r = client.post("/v1/predict", json={"symbol": "BTCUSDT", "candles": window})
        return r.status_code, r.json()

    return send


def _wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if check():
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout_s} s")


@pytest.mark.parametrize(
    ("deployment", "member"), [("SmcDeployment", "smc"), ("CnnLstmDeployment", "cnn_lstm")]
)
def test_killed_predictor_replica_degrades_answers_and_comes_back(
    app, window, deployment, member
) -> None:
    """A rule predictor's replica, and a trained one's (its model reloads in the new
    replica), killed while 3 clients send predictions."""
    (victim,) = app.replicas(deployment)
    with Flow(app, _predict(window)) as flow:
        time.sleep(2.0)
        killed_at = time.monotonic()
        app.kill_replica(deployment)
        replaced = lambda: bool(set(app.replicas(deployment)) - {victim})  # noqa: E731
        _wait_for(replaced, 120, f"a new {member} replica")
        fresh = lambda: any(  # noqa: E731
            t > killed_at and b["models"][member]["status"] == "ok" for t, (_, b) in flow.results
        )
        _wait_for(fresh, 90, f"a {member} answer from the new replica")
        time.sleep(1.0)
    statuses = [s for _, (s, _) in flow.results]
    assert statuses and set(statuses) == {200}, [b for _, (s, b) in flow.results if s != 200][:3]
    bodies = [b for _, (_, b) in flow.results]
    gap = [b for b in bodies if b["models"][member]["status"] != "ok"]
    assert gap, f"no answer was served while the {member} replica was down"
    for b in gap:
        assert b["degraded"] and b["unavailable"][member] == b["models"][member]["status"]
        assert b["models"][member]["weight"] == 0.0
        assert b["models"]["indicators"]["status"] == "ok"
    healthy = [b for b in bodies if not b["unavailable"]]
    assert healthy and all(not b["degraded"] for b in healthy)
    versions = {b["models"][member]["version"] for b in healthy}
    assert len(versions) == 1, versions  # the same model version before and after
    app.wait_healthy(60)  # a new trained replica answers /healthz once its model is loaded


def test_killed_state_replica_under_predict_load_is_a_fast_503_never_a_500(
    app, window, real_candles
) -> None:
    """Predictions on sent candles never need the state; the stored series' signal does:
    while the state replica is replaced it is a 503 naming no internals, then 200 again."""
    eth = real_candles("ETHUSDT").slice(4000, 300)
    stored = app.client.get("/v1/candles/ETHUSDT", params={"limit": 1})
    if stored.status_code == 404:
        r = app.client.post(
            "/v1/candles/ETHUSDT", json={"candles": candles_json(eth)}, headers=app.auth
        )
        assert r.status_code == 201, r.text

    def send(client: httpx.Client, i: int) -> tuple[str, int, float]:
        started = time.monotonic()
        if i % 2:
            r = client.post("/v1/predict", json={"symbol": "ETHUSDT"})
        else:
            r = client.post("/v1/predict", json={"symbol": "BTCUSDT", "candles": window})
        kind = "stored" if i % 2 else "sent"
        return kind, r.status_code, time.monotonic() - started

    (victim,) = app.replicas("StateDeployment")
    with Flow(app, send, workers=4) as flow:
        time.sleep(2.0)
        killed_at = time.monotonic()
        app.kill_replica("StateDeployment")
        replaced = lambda: bool(set(app.replicas("StateDeployment")) - {victim})  # noqa: E731
        _wait_for(replaced, 120, "a new state replica")
        back = lambda: any(  # noqa: E731
            t > killed_at and k == "stored" and s == 200 for t, (k, s, _) in flow.results
        )
        _wait_for(back, 120, "a stored signal from the new state replica")
    outcomes = [o for _, o in flow.results]
    assert {s for k, s, _ in outcomes if k == "sent"} == {200}, outcomes
    assert {s for k, s, _ in outcomes if k == "stored"} <= {200, 503}, outcomes
    assert app.client.post("/v1/predict", json={"symbol": "ETHUSDT"}).status_code == 200


@pytest.mark.parametrize("delay_s", [3.0, 30.0])
def test_slow_predictor_cannot_hold_requests_past_the_deadline(app, window, delay_s) -> None:
    app.set_delay(delay_s)
    try:
        with Flow(app, _predict(window), workers=4) as flow:
            _wait_for(lambda: len(flow.results) >= 8, 60, "eight answers")
    finally:
        app.set_delay(0.0)
    started = [t for t, _ in flow.results]
    assert started
    for _, (status, body) in flow.results:
        assert status == 200, body
        assert body["degraded"] and body["unavailable"] == {"indicators": "timeout"}
        assert body["models"]["indicators"]["weight"] == 0.0
        assert body["models"]["smc"]["status"] == "ok"
        # the configured deadline (not the default 2 s) bounds what the slow call can take
        assert DEADLINE_S * 0.9 <= body["latency_ms"] / 1000 < DEADLINE_S + 1.5, body["latency_ms"]
    after = app.client.post("/v1/predict", json={"symbol": "BTCUSDT", "candles": window})
    assert after.status_code == 200 and not after.json()["degraded"]


OUTCOME_SYMBOLS = ("XRPUSDT", "BNBUSDT", "ADAUSDT", "DOGEUSDT", "LTCUSDT", "AVAXUSDT")


def _pending_signals(app: ReliabilityApp, real_candles, symbol: str) -> list[str]:
    """Four stored signals of ``symbol`` still pending (each on a new bar: a bar's signal
    is made once; the fifth bar would resolve the first)."""
    frame = real_candles(symbol).slice(6000, 303)
    ids = []
    for part in (frame.head(300), *(frame.slice(300 + k, 1) for k in range(3))):
        body = {"candles": candles_json(part)}
        r = app.client.post(f"/v1/candles/{symbol}", json=body, headers=app.auth)
        assert r.status_code == 201, r.text
        signal = app.client.post("/v1/predict", json={"symbol": symbol})
        assert signal.status_code == 200 and signal.json()["source"] == "stored", signal.text
        ids.append(signal.json()["prediction_id"])
    return ids


def test_acknowledged_writes_survive_a_killed_state_replica_and_a_full_restart(
    app: ReliabilityApp, real_candles
) -> None:
    sol = candles_json(real_candles("SOLUSDT").slice(5000, 700))
    ids = [i for s in OUTCOME_SYMBOLS for i in _pending_signals(app, real_candles, s)]
    seed = app.client.post("/v1/candles/SOLUSDT", json={"candles": sol[:300]}, headers=app.auth)
    assert seed.status_code == 201, seed.text
    bars, returns = sol[300:], [0.01 * ((i % 5) - 2) for i in range(len(ids))]

    def write(client: httpx.Client, i: int) -> tuple[str, int, int] | None:
        """Even calls append the next SOL bar, odd ones report the next pending outcome."""
        kind, n = ("candle", i // 2) if i % 2 == 0 else ("outcome", i // 2)
        if (kind == "candle" and n >= len(bars)) or (kind == "outcome" and n >= len(ids)):
            return (kind, n, -1)
        try:
            if kind == "candle":
                body = {"candles": [bars[n]]}
                r = client.post("/v1/candles/SOLUSDT", json=body, headers=app.auth)
            else:
                body = {"prediction_id": ids[n], "realized_return": returns[n]}
                r = client.post("/v1/outcomes", json=body, headers=app.auth)
        except httpx.HTTPError:
            return (kind, n, 0)
        return (kind, n, r.status_code)

    with Flow(app, write, workers=1) as flow:
        _wait_for(lambda: len(flow.results) >= 20, 60, "twenty writes")
        app.kill_replica("StateDeployment")
        _wait_for(lambda: len(flow.results) >= 2 * len(ids), 180, "every write attempted")
    done = [outcome for _, outcome in flow.results]
    acked_bars = [n for kind, n, s in done if kind == "candle" and s == 201]
    acked_outcomes = [n for kind, n, s in done if kind == "outcome" and s == 200]
    failed = [(kind, n, s) for kind, n, s in done if s not in (200, 201, -1)]
    assert len(acked_outcomes) >= 10 and len(acked_bars) >= 10, done

    app.restart()
    stored = app.client.get("/v1/candles/SOLUSDT", params={"limit": 5000}).json()["candles"]
    stored_ts = {_instant(c["timestamp"]) for c in stored}
    lost = [
        bars[n]["timestamp"] for n in acked_bars if _instant(bars[n]["timestamp"]) not in stored_ts
    ]
    assert not lost, f"{len(lost)} acknowledged candles lost, e.g. {lost[:3]}"
    for n in acked_outcomes:
        again = {"prediction_id": ids[n], "realized_return": returns[n]}
        r = app.client.post("/v1/outcomes", json=again, headers=app.auth)
        assert r.status_code == 409 and "already resolved" in r.text, (n, r.text)
    resolved = sum(
        app.client.get(f"/v1/performance/{s}").json()["predictions"].get("resolved", 0)
        for s in OUTCOME_SYMBOLS
    )
    assert resolved >= len(acked_outcomes), resolved
    assert len(failed) < len(done), failed


def _instant(ts: str) -> datetime:
    """ISO text as an instant (``Z`` and ``+00:00`` spellings compare equal)."""
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _break_weights(version_dir: Path) -> None:
    weights = version_dir / "weights.pt"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])


def _break_manifest(version_dir: Path) -> None:
    manifest = version_dir / "manifest.json"
    manifest.write_text(manifest.read_text()[:40])


def _half_written(version_dir: Path) -> None:
    (version_dir / "manifest.json").unlink()


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_break_weights, "weights.pt: sha256 does not match the manifest"),
        (_break_manifest, "manifest.json: invalid JSON"),
        (_half_written, "manifest.json: file is missing"),
    ],
    ids=["truncated-weights", "broken-manifest", "half-written"],
)
def test_corrupt_new_version_is_refused_and_the_previous_one_keeps_serving(
    app: ReliabilityApp, window, damage, reason
) -> None:
    reg = app.registry
    body = {"symbol": reg.symbol, "candles": window}
    first = app.client.post("/v1/predict", json=body).json()["models"][reg.model]
    assert first["status"] == "ok", first
    serving = first["version"]
    bad = reg.publish()
    damage(reg.root / reg.symbol / reg.model / bad)
    try:
        r = app.client.post("/v1/models/reload", headers=app.auth)
        assert r.status_code == 503, r.text
        assert reason in r.json()["detail"] and bad in r.json()["detail"], r.text
        assert "Traceback" not in r.text
        until = time.monotonic() + 3 * VERSION_CHECK_S + 1.0  # past several periodic re-reads
        while time.monotonic() < until:
            answer = app.client.post("/v1/predict", json=body).json()
            entry = answer["models"][reg.model]
            assert (entry["status"], entry["version"]) == ("ok", serving), entry
            assert not answer["degraded"], answer["unavailable"]
        listed = app.client.get("/v1/models").json()["models"][reg.symbol][reg.model]
        assert listed["loaded"] == serving and listed["latest"] == bad
    finally:
        fixed = reg.publish()  # the next good version replaces the broken one
    r = app.client.post("/v1/models/reload", headers=app.auth)
    assert r.status_code == 200 and r.json()["reloaded"][reg.model][reg.symbol] == fixed, r.text
    entry = app.client.post("/v1/predict", json=body).json()["models"][reg.model]
    assert (entry["status"], entry["version"]) == ("ok", fixed)
