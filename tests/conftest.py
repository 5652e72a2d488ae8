"""Shared fixtures: real Binance candles from ../shared/data (skipped cleanly when absent)."""

from __future__ import annotations

import functools
from pathlib import Path

import polars as pl
import pytest

from models.data.loader import load_ohlcv
from models.data.paths import default_data_dir

SYMBOLS = (
    "BTCUSDT",
    "ETHUSDT",
    "SOLUSDT",
    "BNBUSDT",
    "XRPUSDT",
    "ADAUSDT",
    "DOGEUSDT",
    "LTCUSDT",
    "AVAXUSDT",
    "LINKUSDT",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``redeploys_shared_app`` run last in their directory: they redeploy the
    app their directory shares in another form (protected reads), and run last they leave
    it so instead of paying a second whole-app redeploy to restore it (Serve restarts every
    replica of an app that ``serve.run`` deploys again)."""
    order: dict[Path, int] = {}
    for item in items:
        order.setdefault(item.path.parent, len(order))

    def key(pair: tuple[int, pytest.Item]) -> tuple[int, bool, int]:
        index, item = pair
        last = item.get_closest_marker("redeploys_shared_app") is not None
        return order[item.path.parent], last, index

    items[:] = [item for _, item in sorted(enumerate(items), key=key)]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the features' loops once, in this process, before any Ray replica starts:
    on a clean clone every replica would otherwise compile them at once (seconds each)
    and the first Serve tests would run against that."""
    from models.predictors.warm_up import compile_feature_kernels

    compile_feature_kernels()


@functools.lru_cache(maxsize=16)
def _read_symbol(path: str) -> pl.DataFrame:
    return load_ohlcv(path)


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    path = default_data_dir()
    if not (path / "BTCUSDT-1h.csv.gz").exists():
        pytest.skip(f"real data not found at {path} (set SMARTMARKET_DATA or add ../shared/data)")
    return path


@pytest.fixture(scope="session")
def real_candles(real_data_dir: Path):
    """Function ``symbol -> polars DataFrame`` of the real hourly candles (cached)."""

    def load(symbol: str = "BTCUSDT") -> pl.DataFrame:
        return _read_symbol(str(real_data_dir / f"{symbol}-1h.csv.gz"))

    return load


@pytest.fixture(scope="session")
def btc(real_candles) -> pl.DataFrame:
    return real_candles("BTCUSDT")


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray instance for the whole test session (Tune and Serve tests share it)."""
    import os

    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if not ray.is_initialized():
        ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
