"""Stored history for the dashboard tests: candles and predictions made through the API.

Symbols and slices no other HTTP test posts candles for (BNBUSDT, ETHUSDT from bar 20,000),
so the shared test app's state stays consistent for every test file in any order.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from tests.deployments.conftest import ServeApp, candles_json

START = 20_000
WINDOW = 240


@dataclass
class Seeded:
    """What was stored for one symbol: its candles and the ids of its predictions."""

    symbol: str
    candles: pl.DataFrame
    ids: list[str]
    since: str
    until: str


_SEEDED: dict[str, Seeded] = {}


def seed_once(api: ServeApp, symbol: str, frame: pl.DataFrame) -> Seeded:
    """:func:`seed` once per test session and symbol (the app's state is session-wide)."""
    if symbol not in _SEEDED:
        _SEEDED[symbol] = seed(api, symbol, frame, stored=300, step=6)
    return _SEEDED[symbol]


def seed(api: ServeApp, symbol: str, frame: pl.DataFrame, stored: int, step: int) -> Seeded:
    """Post ``frame[:stored]``, predict every ``step`` bars over its last 60, then post 20
    more candles (resolving them all) and predict once on the newest bar (pending)."""
    head = frame.head(stored)
    r = api.client.post(
        f"/v1/candles/{symbol}", json={"candles": candles_json(head)}, headers=api.auth
    )
    assert r.status_code == 201, r.text
    ids = []
    for end in range(stored - 60, stored, step):
        r = api.predict(symbol, frame.slice(end - WINDOW + 1, WINDOW))
        assert r.status_code == 200, r.text
        ids.append(r.json()["prediction_id"])
    more = candles_json(frame.slice(stored, 20))
    r = api.client.post(f"/v1/candles/{symbol}", json={"candles": more}, headers=api.auth)
    assert r.status_code == 201 and len(r.json()["resolved"]) >= len(ids), r.text
    last = frame.slice(stored + 20 - WINDOW, WINDOW)
    r = api.predict(symbol, last)
    assert r.status_code == 200, r.text
    ids.append(r.json()["prediction_id"])
    stamps = frame["timestamp"]
    return Seeded(
        symbol,
        frame.head(stored + 20),
        ids,
        stamps[stored - 60].isoformat(),
        stamps[stored + 20].isoformat(),
    )
