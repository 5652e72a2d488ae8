"""Model listing and reload: a newly published version is served without a restart."""

from __future__ import annotations

import pytest

from models.predictors.registry import trained_names
from tests.deployments.conftest import MODEL_SYMBOL

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_models_lists_registry_and_loaded_versions(api, trained, btc):
    assert api.predict(MODEL_SYMBOL, btc.slice(10000, 260)).status_code == 200  # loads them
    listing = api.client.get("/v1/models").json()
    assert set(listing["registry"]) == set(trained_names())
    for name in ("transformer", "cnn_lstm"):
        entry = listing["models"][MODEL_SYMBOL][name]
        assert entry["versions"] == trained.versions(name)
        assert entry["latest"] == entry["versions"][-1] == entry["loaded"]
    assert "ETHUSDT" not in listing["models"]  # no trained model, nothing loaded


def test_reload_serves_a_newly_published_version(api, trained, btc):
    frame = btc.slice(11000, 260)
    old = api.predict(MODEL_SYMBOL, frame).json()["models"]["transformer"]["version"]
    new = trained.publish("transformer")
    assert new != old and trained.versions("transformer")[-1] == new
    r = api.client.post("/v1/models/reload", headers=api.auth)
    assert r.status_code == 200, r.text
    assert r.json()["reloaded"]["transformer"][MODEL_SYMBOL] == new
    assert r.json()["reloaded"]["cnn_lstm"][MODEL_SYMBOL] == trained.versions("cnn_lstm")[-1]
    entry = api.client.get("/v1/models").json()["models"][MODEL_SYMBOL]["transformer"]
    assert entry["latest"] == entry["loaded"] == new and old in entry["versions"]
    body = api.predict(MODEL_SYMBOL, frame).json()
    assert body["models"]["transformer"]["version"] == new
    assert body["models"]["transformer"]["status"] == "ok"
