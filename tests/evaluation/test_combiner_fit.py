"""The combiner fitted after training: on the members' held-out bars only, with the
evaluation's replay, published versioned with its members, and what a cold state and the
evaluation's seeded replay start from."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone

import numpy as np
import polars as pl
import pytest

from models.ensemble import Ensemble
from models.ensemble.published import COMBINER, load_fit, load_fits
from models.errors import ConfigError
from models.evaluation.combiner_fit import fit_and_publish, fit_rows
from models.evaluation.period import ModelWindow
from models.evaluation.sources import load_sources
from models.registry import ModelRegistry
from models.serving.state import ServingState
from models.store import StateStore


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def _window(trained: str | None, seen: str, model: str = "cnn_lstm") -> ModelWindow:
    return ModelWindow(
        "X", model, "v1", None, _utc(seen), _utc(trained) if trained is not None else None
    )


def test_fit_rows_lie_after_training_and_resolve_by_the_end_of_validation():
    stamps = pl.Series(
        "timestamp",
        [datetime(2022, 1, 1, h, tzinfo=timezone.utc) for h in range(24)],
    )
    older_fit = _window("2022-01-01T00:00", "2022-01-01T23:00", COMBINER)  # ignored
    windows = [_window("2022-01-01T05:00", "2022-01-01T20:00"), older_fit]
    rows = fit_rows("X", stamps, windows, horizon=4)
    assert rows.tolist() == list(range(6, 17))  # after 05:00; 16:00 + 4 h resolves by 20:00
    with pytest.raises(ConfigError, match="no training labels' end"):
        fit_rows("X", stamps, [_window(None, "2022-01-01T20:00")], horizon=4)
    with pytest.raises(ConfigError, match="no trained member"):
        fit_rows("X", stamps, windows[1:], horizon=4)
    with pytest.raises(ConfigError, match="bars between"):
        fit_rows("X", stamps, [_window("2022-01-01T18:00", "2022-01-01T23:00")], horizon=4)


@pytest.fixture(scope="module")
def fitted(tiny_registry, real_data_dir, tmp_path_factory):
    """A copy of the tiny registry with a combiner fitted and published for BTCUSDT."""
    root = tmp_path_factory.mktemp("fitted") / "registry"
    shutil.copytree(tiny_registry, root)
    versions = fit_and_publish(real_data_dir, str(root), ["BTCUSDT"], jobs=1, say=lambda _: None)
    return root, versions


def test_the_fit_is_published_with_its_members_and_bars(fitted):
    root, versions = fitted
    registry = ModelRegistry(root)
    member = registry.latest("BTCUSDT", "cnn_lstm")
    assert versions == {"BTCUSDT": registry.latest("BTCUSDT", COMBINER)}
    fit = load_fit(registry, "BTCUSDT")
    prov = fit["provenance"]
    assert prov["version"] == versions["BTCUSDT"] and prov["members"] == {"cnn_lstm": member}
    window = registry.manifest("BTCUSDT", "cnn_lstm", member)["data_window"]
    assert prov["first_bar"] > window["train"]["label_end"].replace("Z", "+00:00")
    assert prov["label_end"] <= window["val"]["label_end"].replace("Z", "+00:00")
    assert prov["bars"] > 100 and prov["symbols_pooled"] == ["BTCUSDT"]
    combiner = registry.manifest("BTCUSDT", COMBINER, versions["BTCUSDT"])["data_window"]
    assert combiner["members"] == {"cnn_lstm": member}
    assert set(fit["state"]["standardizer"]) >= {"cnn_lstm", "indicators", "smc"}
    assert "equal_calibration" in fit


def test_the_evaluation_bounds_its_period_by_the_fit_and_starts_from_it(fitted):
    root, versions = fitted
    sources = load_sources("BTCUSDT", root, 4)
    assert sources.combiner_version == versions["BTCUSDT"]
    assert [w.model for w in sources.windows] == ["cnn_lstm", COMBINER]
    fit_end = next(w.seen_until for w in sources.windows if w.model == COMBINER)
    assert fit_end <= next(w.seen_until for w in sources.windows if w.model == "cnn_lstm")


def test_a_cold_service_state_answers_its_first_bar_with_the_published_combiner(
    fitted, btc, tmp_path
):
    root, versions = fitted
    fits = load_fits(root)
    assert set(fits) == {"BTCUSDT"}
    state = ServingState(StateStore(tmp_path / "s.db"), Ensemble(), combiners=fits)
    assert state.version > 0  # the seeded state was committed
    perf = state.performance("BTCUSDT")["combiner"]
    assert perf["source"] == "published fit" and perf["fitted"]["version"] == versions["BTCUSDT"]
    seeded = Ensemble()
    seeded.load_state_dict(state.tracker_state()[0])  # what a serving replica combines with
    specs = load_sources("BTCUSDT", root, 4).specs
    window = btc.slice(9000, 600)
    preds = {n: specs[n].predictor.predict(window) for n in ("indicators", "smc", "cnn_lstm")}
    signal = seeded.combine("BTCUSDT", preds, None, 10**6)
    assert not any("warming up" in r for r in signal.reasons)
    assert any(w != 0 for w in signal.expert_weights.values())
    cold = Ensemble().combine("BTCUSDT", preds, None, 10**6)
    assert all(w == 0 for w in cold.expert_weights.values())  # the prior knows nothing yet
    state.store.close()  # one state deployment per file: the next opener needs the lock
    again = ServingState(StateStore(tmp_path / "s.db"), Ensemble(), combiners=fits)
    assert again.version == state.version  # a symbol with learned state is not reseeded
    again.store.close()
    assert np.isfinite(signal.score)
