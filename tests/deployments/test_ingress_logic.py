"""The ingress's logic with fake handles: health over every deployment, the models view and
reload over the trained predictors only, library errors as 4xx, the learned-state version
passed on. No Ray: the endpoints' own class is built and its methods are called directly."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from deployments.http_errors import ApiError
from deployments.ingress import Ingress
from models.errors import DataValidationError
from models.predictors.registry import predictor_names, trained_names
from tests.deployments.fake_handles import Failing, FakeHandle, fake_graph


class FakeEnsemble:
    """Answers a fixed body, or returns our error (as the ensemble does for bad input)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    async def predict(self, symbol: str, frame: Any, store: bool, min_version: int) -> Any:
        return self.error or {"symbol": symbol, "min_version": min_version}

    async def ping(self) -> dict[str, Any]:
        return {"learned_version": 0}


IngressApi = Ingress.func_or_class.__bases__[0]
"""The class as written (``serve.ingress`` subclasses it with the ASGI wrapper)."""


def ingress(tmp_path, ensemble: Any = None, **replace: Any) -> tuple[Any, dict[str, Any]]:
    graph = fake_graph(tmp_path, **replace)
    handle = FakeHandle(ensemble or FakeEnsemble())
    api = IngressApi(
        handle, graph["state"], graph["predictors"], graph["regime"], graph["settings"]
    )
    return api, graph


def test_healthz_pings_every_deployment_and_names_the_broken_one(tmp_path):
    api, _ = ingress(tmp_path)
    ok = asyncio.run(api.healthz())
    assert ok.status_code == 200
    names = {"ensemble", "state", "regime", *predictor_names()}
    assert json.loads(ok.body)["deployments"] == dict.fromkeys(names, "ok")
    broken, _ = ingress(tmp_path, smc=Failing())
    answer = asyncio.run(broken.healthz())
    assert answer.status_code == 503
    status = json.loads(answer.body)["deployments"]
    assert status["smc"] == "error: RuntimeError: predictor crashed"
    assert [n for n, s in status.items() if s != "ok"] == ["smc"]


def test_models_and_reload_ask_only_the_trained_predictors(tmp_path):
    api, graph = ingress(tmp_path)
    view = asyncio.run(api.models())
    assert set(view["models"]["BTCUSDT"]) == set(trained_names())
    entry = view["models"]["BTCUSDT"]["transformer"]
    assert {k: entry[k] for k in ("versions", "latest", "loaded")} == {
        "versions": ["v1", "v2"],
        "latest": "v2",
        "loaded": "v2",
    }
    assert view["registry"] == dict.fromkeys(trained_names(), "/reg")
    reloaded = asyncio.run(api.reload())
    assert reloaded == {"reloaded": {name: {"BTCUSDT": "v2"} for name in trained_names()}}
    for name in predictor_names("rule"):
        assert not graph["predictors"][name].calls


def test_predict_passes_the_newest_learned_version_seen(tmp_path, btc):
    api, _ = ingress(tmp_path)
    api._saw({"learned_version": 7})
    api._saw({"learned_version": 3})  # older: ignored
    answer = asyncio.run(api._predict("BTCUSDT", btc.head(10), False))
    assert answer == {"symbol": "BTCUSDT", "min_version": 7}
    answer = asyncio.run(api._predict("BTCUSDT", btc.head(10), True, 9))  # a state's newer
    assert answer == {"symbol": "BTCUSDT", "min_version": 9}


def test_a_library_error_from_the_ensemble_is_a_4xx_naming_the_field(tmp_path, btc):
    error = DataValidationError("must be positive", row=3, column="close")
    api, _ = ingress(tmp_path, ensemble=FakeEnsemble(error))
    with pytest.raises(ApiError) as caught:
        asyncio.run(api._predict("BTCUSDT", btc.head(10), False))
    assert caught.value.status_code == 422
    assert "close" in caught.value.detail and "must be positive" in caught.value.detail
