"""The retraining job's data: the service's stored candles as a file the Tune trials read."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from models.data.loader import load_market_data
from models.errors import DataValidationError, RetrainError
from models.registry import ModelRegistry
from models.store import StateStore
from models.training.retrain import RetrainJob, run_retraining, stored_candles_dir


def test_stored_candles_round_trip_to_a_data_dir(btc: pl.DataFrame, tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = StateStore(db)
    store.append_candles("BTCUSDT", btc.slice(100, 300))
    out = tmp_path / "data"
    out.mkdir()
    stored_candles_dir(str(db), "BTCUSDT", out)  # beside the writer, which holds the lock
    store.close()
    loaded = load_market_data(out, symbols=["BTCUSDT"])["BTCUSDT"]
    columns = ["timestamp", "open", "high", "low", "close", "volume"]
    assert loaded.select(columns).equals(btc.slice(100, 300).select(columns))


def test_no_candles_or_no_source_is_a_named_error(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="no stored candles of ETHUSDT"):
        stored_candles_dir(str(tmp_path / "empty.db"), "ETHUSDT", tmp_path)
    job = RetrainJob("BTCUSDT", "transformer", str(tmp_path / "r"), str(tmp_path / "t"))
    with pytest.raises(DataValidationError, match="state_db or data_dir"):
        run_retraining(job)


def test_a_rule_predictor_has_nothing_to_retrain(tmp_path: Path) -> None:
    job = RetrainJob("BTCUSDT", "smc", str(tmp_path / "r"), str(tmp_path / "t"), data_dir="x")
    with pytest.raises(RetrainError, match="rule predictor has nothing to retrain"):
        run_retraining(job)


@pytest.mark.slow
@pytest.mark.ray
def test_the_tree_model_retrains_from_stored_candles_with_the_leaders(
    ray_session, real_candles, tmp_path: Path
) -> None:
    """lgbm is scheduled like the networks: its job reads the symbol's and the leader's
    stored candles and publishes a per-symbol version."""
    db = tmp_path / "state.db"
    store = StateStore(db)
    for symbol in ("ETHUSDT", "BTCUSDT"):
        store.append_candles(symbol, real_candles(symbol).slice(6000, 3000))
    store.close()
    registry = tmp_path / "registry"
    job = RetrainJob(
        "ETHUSDT", "lgbm", str(registry), str(tmp_path / "tune"), state_db=str(db), max_rows=3000
    )
    version = run_retraining(job)
    reg = ModelRegistry(registry)
    assert reg.latest("ETHUSDT", "lgbm") == version
    assert reg.load("ETHUSDT", "lgbm", version).config["variant"] == "per_symbol"
