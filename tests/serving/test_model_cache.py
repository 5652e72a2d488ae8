"""The trained-model cache policy without Ray: a missing symbol is remembered, versions are
re-read when due, an old version answers ``expired``, calls of a symbol share a pass."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import polars as pl
import pytest

from models.predictors.leader import attach_leader
from models.predictors.tree_features import WINDOW_BARS
from models.registry import ModelRegistry
from models.registry.lifecycle import Lifecycle
from models.serving import trained_models
from models.serving.model_cache import CacheEvents, ModelCache
from models.serving.replies import EXPIRED, NO_MODEL, OK
from tests.predictors.tiny_trees import publish_tiny_lgbm

SYMBOL = "XRPUSDT"


@pytest.fixture(scope="module")
def published(real_candles, tmp_path_factory) -> tuple[ModelRegistry, pl.DataFrame]:
    root = tmp_path_factory.mktemp("registry")
    btc, xrp = real_candles("BTCUSDT"), real_candles(SYMBOL)
    publish_tiny_lgbm(root, SYMBOL, xrp.slice(6800, 3200), leader=btc)
    window = attach_leader(xrp.slice(10100, WINDOW_BARS), btc)
    return ModelRegistry(root), window


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _cache(registry: ModelRegistry, clock: Clock, **kw) -> tuple[ModelCache, list[str]]:
    seen: list[str] = []
    events = CacheEvents(loaded=lambda n: seen.append("load"), hit=lambda n: seen.append("hit"))
    cache = ModelCache("lgbm", registry, Lifecycle(**kw), events=events, clock=clock)
    return cache, seen


def _loader(cache: ModelCache):
    held: dict[str, trained_models.SymbolModel] = {}

    async def get(symbol: str) -> trained_models.SymbolModel:
        if symbol not in held:
            held[symbol] = cache.load(symbol)
        return held[symbol]

    return get


def test_a_symbol_without_a_model_is_remembered_for_version_check_s(published, monkeypatch) -> None:
    registry, window = published
    clock = Clock()
    cache, seen = _cache(registry, clock)
    asked: list[str] = []
    real_latest = trained_models.latest_version

    def counting(reg, symbol, name):
        asked.append(symbol)
        return real_latest(reg, symbol, name)

    monkeypatch.setattr(trained_models, "latest_version", counting)
    get = _loader(cache)
    for _ in range(3):
        (replies,) = asyncio.run(cache.predict(["DOGEUSDT"], [[window]], get))
        assert replies[0].status == NO_MODEL
    assert asked == ["DOGEUSDT"]  # remembered
    clock.now += cache.version_check_s
    asyncio.run(cache.predict(["DOGEUSDT"], [[window]], get))
    assert asked == ["DOGEUSDT", "DOGEUSDT"]  # asked again once it is due
    assert "load" not in seen


def test_calls_of_one_symbol_share_one_pass_and_hits_are_counted(published) -> None:
    registry, window = published
    cache, seen = _cache(registry, Clock())
    get = _loader(cache)
    out = asyncio.run(cache.predict([SYMBOL, SYMBOL], [[window], [window, window]], get))
    assert [len(r) for r in out] == [1, 2] and all(r.status == OK for rs in out for r in rs)
    asyncio.run(cache.predict([SYMBOL], [[window]], get))
    assert seen == ["load", "hit"]
    assert cache.loaded() == {SYMBOL: registry.latest(SYMBOL, "lgbm")}
    assert cache.describe()["latest"] == {SYMBOL: registry.latest(SYMBOL, "lgbm")}


def test_a_version_older_than_expire_after_answers_expired(published) -> None:
    registry, window = published
    cache, _ = _cache(registry, Clock(), expire_after=timedelta(seconds=1))
    (replies,) = asyncio.run(cache.predict([SYMBOL], [[window]], _loader(cache)))
    # the tiny model was published moments ago: expired only once a second has passed
    assert replies[0].status in (OK, EXPIRED)
    cache.lifecycle = Lifecycle(expire_after=timedelta(microseconds=1))
    (replies,) = asyncio.run(cache.predict([SYMBOL], [[window]], _loader(cache)))
    assert replies[0].status == EXPIRED and "expire_after" in replies[0].detail
