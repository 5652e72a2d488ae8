"""A real Ray Tune run of the lgbm search (both variants) publishing to a temporary registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.errors import ConfigError
from models.predictors.lgbm import LgbmPredictor
from models.registry import ModelRegistry
from models.training.lgbm import LgbmConfig
from models.training.tabular import prepare_tabular_data
from models.training.tune import TuneOptions

pytestmark = [pytest.mark.slow, pytest.mark.ray]


def test_search_publishes_both_variants_default_last(
    ray_session, real_candles, tmp_path: Path
) -> None:
    from models.training.tune_lgbm import LgbmJob, tune_lgbm

    btc = real_candles("BTCUSDT").slice(6000, 2500)
    datasets = {
        s: prepare_tabular_data(real_candles(s).slice(6000, 2500), symbol=s, leader=btc)
        for s in ("BTCUSDT", "XRPUSDT")
    }
    job = LgbmJob(datasets, LgbmConfig(max_rounds=30, early_stopping_rounds=5), "auto")
    options = TuneOptions(
        storage=str(tmp_path / "runs"), name="e2e", num_samples=1, cpus_per_trial=0.5
    )
    rows = tune_lgbm(job, options, str(tmp_path / "reg"))
    assert len(rows) == 4 and all(r.error is None and r.version for r in rows)
    defaults = {r.model for r in rows if r.model.endswith("*")}
    assert len(defaults) == 1
    registry = ModelRegistry(tmp_path / "reg")
    for symbol in datasets:
        latest = registry.load(symbol, "lgbm")
        assert f"lgbm:{latest.config['variant']}*" in defaults
        assert latest.config["tune"]["trials"] == 1
        assert latest.metrics["test"]["log_loss"] > 0
        assert 1 <= latest.metrics["best_iteration"] <= 30  # read back from the checkpoint
        assert len(registry.versions(symbol, "lgbm")) == 2
    predictor = LgbmPredictor.from_registry(registry, "BTCUSDT")
    assert predictor.predict(btc.tail(predictor.min_bars)).model == "lgbm"
    with pytest.raises(ConfigError, match="already exists"):
        tune_lgbm(job, options, str(tmp_path / "reg"))
