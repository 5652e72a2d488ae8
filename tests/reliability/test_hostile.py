"""Hostile but valid requests: well-formed, sent by someone who should change nothing.

Each attack of the security review (issue 19) against the live reliability app, whose writes
need a key. Every test asserts that the request is refused (401 / 403 / 422 / 429 / 503, never
a 500), or for a read that it is only answered, **and** that the stored candles, the stored
predictions and the learned state are byte-identical before and after: they are hashed
straight from the SQLite file, beside the state deployment that writes it.

The assertion messages carry the status and whether the state changed, so running this file
against older code shows what each attack did there (docs/reliability.md has that table).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from tests.reliability.harness import ReliabilityApp, candles_json

pytestmark = [pytest.mark.ray, pytest.mark.slow]

SYMBOL = "LINKUSDT"
STORED = 300
REFUSED = {401, 403, 422, 429, 503}


def state_digest(path: str | Path) -> str:
    """sha256 over every stored candle, prediction and learned state, read from the file."""
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        digest = hashlib.sha256()
        for table, order in (("candles", "symbol, ts"), ("predictions", "id"), ("state", "key")):
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY {order}"):
                digest.update(repr(row).encode())
        return digest.hexdigest()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def hostile(rel_app: ReliabilityApp, real_candles) -> Iterator[ReliabilityApp]:
    """The app with ``STORED`` real hourly candles of ``SYMBOL`` stored by the operator."""
    frame = real_candles(SYMBOL).slice(12_000, STORED)
    stored = rel_app.client.get(f"/v1/candles/{SYMBOL}", headers=rel_app.auth)
    if stored.status_code == 404:
        body = {"candles": candles_json(frame)}
        r = rel_app.client.post(f"/v1/candles/{SYMBOL}", json=body, headers=rel_app.auth)
        assert r.status_code == 201, r.text
    yield rel_app


def _hour(offset_h: int) -> datetime:
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return now + timedelta(hours=offset_h)


def _bar(stamp: datetime, close: float = 100.0) -> dict[str, Any]:
    return {
        "timestamp": stamp.isoformat(),
        "open": close,
        "high": close * 1.01,
        "low": close * 0.99,
        "close": close,
        "volume": 10.0,
    }


def _attack(app: ReliabilityApp, send: Any) -> tuple[int, bool, httpx.Response]:
    """Send one attack; its status and whether the stored state changed."""
    before = state_digest(app.settings.state_db)
    response = send()
    changed = state_digest(app.settings.state_db) != before
    return response.status_code, changed, response


def _assert_refused(app: ReliabilityApp, send: Any, field: str | None = None) -> None:
    status, changed, r = _attack(app, send)
    assert status in REFUSED and not changed, f"status {status}, state changed: {changed}"
    if field is not None and status == 422:
        assert any(e["field"].startswith(field) for e in r.json()["errors"]), r.text


def _enhanced(app: ReliabilityApp, bar: dict[str, Any], keyed: bool) -> httpx.Response:
    headers = app.auth if keyed else {}
    body = {"symbol": SYMBOL, "features": bar}
    return app.client.post("/enhanced/predict", json=body, headers=headers)


def _append(app: ReliabilityApp, candles: list[dict[str, Any]], keyed: bool) -> httpx.Response:
    headers = app.auth if keyed else {}
    url = f"/v1/candles/{SYMBOL}"
    return app.client.post(url, json={"candles": candles}, headers=headers)


def test_a_future_dated_bar_is_refused_with_or_without_the_key(hostile) -> None:
    future = _bar(datetime(2099, 1, 1, tzinfo=timezone.utc))
    _assert_refused(hostile, lambda: _enhanced(hostile, future, keyed=False))
    _assert_refused(hostile, lambda: _enhanced(hostile, future, keyed=True), "features")
    _assert_refused(hostile, lambda: _append(hostile, [future], keyed=False))
    _assert_refused(hostile, lambda: _append(hostile, [future], keyed=True), "candles")
    # the symbol still takes the operator's next real bar
    newest = hostile.client.get(f"/v1/candles/{SYMBOL}", params={"limit": 1}).json()
    assert newest["candles"][-1]["timestamp"] < "2099"


def test_a_bar_racing_the_feed_is_refused(hostile) -> None:
    forming = _bar(_hour(0))  # opened this hour: it closes in the future
    _assert_refused(hostile, lambda: _enhanced(hostile, forming, keyed=False))
    _assert_refused(hostile, lambda: _enhanced(hostile, forming, keyed=True), "features")
    _assert_refused(hostile, lambda: _append(hostile, [forming], keyed=True), "candles")


def test_minute_candles_for_an_hourly_symbol_are_refused_everywhere(hostile, real_candles) -> None:
    hourly = real_candles(SYMBOL).slice(9_000, 300)
    start = hourly["timestamp"][0]
    minutes = hourly.with_columns(
        pl.datetime_range(start, start + timedelta(minutes=299), "1m", eager=True).alias(
            "timestamp"
        )
    )
    body = {"symbol": SYMBOL, "candles": candles_json(minutes)}
    _assert_refused(hostile, lambda: hostile.client.post("/v1/predict", json=body), "candles")
    for keyed in (False, True):
        _assert_refused(hostile, lambda k=keyed: _append(hostile, candles_json(minutes), k))


def test_a_client_chosen_entry_close_never_reaches_the_learned_state(hostile) -> None:
    """Candles ending at the newest stored bar with another close (the label the attacker
    wants learned): answered on those candles, nothing stored, nothing to resolve later."""
    stored = hostile.client.get(f"/v1/candles/{SYMBOL}", params={"limit": 300}).json()
    candles = stored["candles"]
    candles[-1] = {**candles[-1], "close": candles[-1]["close"] * 1.2}
    candles[-1]["high"] = max(candles[-1]["high"], candles[-1]["close"])
    body = {"symbol": SYMBOL, "candles": candles}
    status, changed, r = _attack(hostile, lambda: hostile.client.post("/v1/predict", json=body))
    assert status == 200 and not changed, f"status {status}, state changed: {changed}"
    assert r.json()["source"] == "request"
    outcome = {"prediction_id": r.json()["prediction_id"], "realized_return": 0.05}
    _assert_refused(hostile, lambda: hostile.client.post("/v1/outcomes", json=outcome))


def test_a_flood_of_distinct_windows_leaves_the_state_as_it_was(hostile, real_candles) -> None:
    frame = real_candles("ETHUSDT").slice(5_000, 600)
    path = Path(hostile.settings.state_db)
    before, size = state_digest(path), path.stat().st_size
    for start in range(0, 60):
        body = {"symbol": SYMBOL, "candles": candles_json(frame.slice(start * 5, 240))}
        r = hostile.client.post("/v1/predict", json=body)
        assert r.status_code == 200, r.text
    assert state_digest(path) == before
    assert path.stat().st_size == size


def test_history_reads_are_capped(hostile) -> None:
    for url, params in (
        (f"/v1/calibration/{SYMBOL}", {"limit": 100_000}),
        (f"/v1/candles/{SYMBOL}", {"limit": 1_000_000}),
    ):
        _assert_refused(hostile, lambda u=url, p=params: hostile.client.get(u, params=p), "limit")


def test_a_second_state_opener_fails_at_once_naming_the_file_and_holder(hostile) -> None:
    from models.errors import StateLockedError
    from models.store import StateStore

    before = state_digest(hostile.settings.state_db)
    with pytest.raises(StateLockedError) as refused:
        StateStore(hostile.settings.state_db).close()
    message = str(refused.value)
    assert hostile.settings.state_db in message and "pid" in message and "host" in message
    assert state_digest(hostile.settings.state_db) == before
