"""Stored history for the dashboard tests: candles and predictions made through the API.

Symbols and slices no other HTTP test posts candles for (BNBUSDT, ETHUSDT from bar 20,000),
so the shared test app's state stays consistent for every test file in any order.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from tests.deployments.conftest import ServeApp

START = 20_000


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


def _signal(api: ServeApp, symbol: str) -> str:
    r = api.signal(symbol)
    assert r.status_code == 200 and r.json()["source"] == "stored", r.text
    return str(r.json()["prediction_id"])


def seed(api: ServeApp, symbol: str, frame: pl.DataFrame, stored: int, step: int) -> Seeded:
    """Store ``frame`` up to 60 bars before ``stored`` and, every ``step`` bars up to
    ``stored``, the next candles then the stored signal of the newest (the feed's path);
    then 20 more candles (resolving them all) and the signal of the newest bar (pending)."""
    ids = []
    done = 0
    for end in range(stored - 60, stored, step):
        r = api.append(symbol, frame.slice(done, end + 1 - done))
        assert r.status_code == 201, r.text
        done = end + 1
        ids.append(_signal(api, symbol))
    r = api.append(symbol, frame.slice(done, stored + 20 - done))
    assert r.status_code == 201, r.text  # every signal before it is resolved by now
    ids.append(_signal(api, symbol))
    stamps = frame["timestamp"]
    return Seeded(
        symbol,
        frame.head(stored + 20),
        ids,
        stamps[stored - 60].isoformat(),
        stamps[stored + 20].isoformat(),
    )
