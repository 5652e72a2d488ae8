"""Expiry and scheduled retraining in the running app (Ray Serve + a real Tune run).

A copy of the session's tiny registry is aged (the manifests' ``created_at`` moved three
days back: the clock, as the app sees it, moved forward), so with ``expire_after`` one day
both neural members answer ``expired``, the answer is not degraded, and ``/v1/models``
says so. The retrainer is then ticked by hand: first with a data directory that lacks the
symbol (the retraining fails, the aged version keeps serving, the failure is shown), then
with real candles (a one-trial, one-epoch Tune run per model publishes a new version, the
replicas pick it up without a restart, and the purge spares the replaced version).
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from deployments.app import compose
from deployments.settings import AppSettings
from models.registry import ModelRegistry
from tests.deployments.conftest import KEY_ENV, MODEL_SYMBOL, ServeApp, Trained, candles_json

pytestmark = [pytest.mark.slow, pytest.mark.ray]

APP = "smartmarket-lifecycle"
PREFIX = "/lifecycle"
NEURAL = ("transformer", "cnn_lstm")


def _age(root: Path, days: float) -> None:
    """Move every version's ``created_at`` ``days`` into the past."""
    for path in root.glob("*/*/v*/manifest.json"):
        manifest = json.loads(path.read_text())
        when = datetime.now(timezone.utc) - timedelta(days=days)
        path.write_text(json.dumps({**manifest, "created_at": when.isoformat()}))


def _deploy(serve_app: ServeApp, registry: Path, state: Path, data: Path, storage: Path) -> Any:
    settings = AppSettings.parse(
        registry=str(registry),
        state_db=str(state),
        api_key_env=KEY_ENV,
        symbols=(MODEL_SYMBOL,),
        expire_after=timedelta(days=1),
        retrain_after=timedelta(hours=12),
        keep_versions=1,
        retrain_data=str(data),
    )
    light = {"ray_actor_options": {"num_cpus": 0.05}}
    options: dict[str, Any] = {r: light for r in ("indicators", "smc", "regime", "state")}
    options["ingress"] = {
        "ray_actor_options": {
            "num_cpus": 0.05,
            "runtime_env": {"env_vars": {KEY_ENV: serve_app.key}},
        }
    }
    options["retrainer"] = {
        "ray_actor_options": {"num_cpus": 0.05},
        "user_config": {
            "check_s": 3600,  # ticked by the test
            "retry_after_s": 3600,  # no resubmission within the test
            "storage": str(storage),
            "num_samples": 1,
            "max_epochs": 1,
            "max_rows": 4000,
            "cpus_per_trial": 0.25,
        },
    }
    serve_app.serve.run(compose(settings, options=options), name=APP, route_prefix=PREFIX)
    return serve_app.serve.get_deployment_handle("RetrainerDeployment", app_name=APP)


def _models(serve_app: ServeApp) -> dict[str, Any]:
    reply = serve_app.client.get(f"{PREFIX}/v1/models")
    assert reply.status_code == 200, reply.text
    return reply.json()["models"][MODEL_SYMBOL]


def _predict(serve_app: ServeApp, frame: pl.DataFrame) -> dict[str, Any]:
    body = {"symbol": MODEL_SYMBOL, "candles": candles_json(frame)}
    reply = serve_app.client.post(f"{PREFIX}/v1/predict", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def _tick_until_finished(handle: Any, timeout_s: float) -> list[dict[str, Any]]:
    finished: list[dict[str, Any]] = []
    first = handle.tick.remote().result(timeout_s=120)
    assert sorted(first["submitted"]) == sorted(f"{MODEL_SYMBOL}/{m}" for m in NEURAL), first
    deadline = time.monotonic() + timeout_s
    while len(finished) < len(NEURAL) and time.monotonic() < deadline:
        time.sleep(2)
        finished += handle.tick.remote().result(timeout_s=120)["finished"]
    assert len(finished) == len(NEURAL), finished
    return finished


def test_expiry_failed_and_successful_retraining(
    serve_app: ServeApp, trained: Trained, btc: pl.DataFrame, tmp_path: Path
) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(trained.root, registry)
    _age(registry, days=3)
    old = {m: ModelRegistry(registry).latest(MODEL_SYMBOL, m) for m in NEURAL}
    empty, data = tmp_path / "empty", tmp_path / "data"
    empty.mkdir()
    data.mkdir()
    btc.slice(6000, 4000).write_parquet(data / f"{MODEL_SYMBOL}.parquet")
    frame = btc.slice(9000, 600)
    try:
        handle = _deploy(serve_app, registry, tmp_path / "s.db", empty, tmp_path / "tune")
        # expired: left out like no_model, not degraded, shown in /v1/models
        answer = _predict(serve_app, frame)
        for name in NEURAL:
            assert answer["models"][name]["status"] == "expired"
            assert answer["models"][name]["version"] == old[name]
        assert not answer["degraded"] and answer["unavailable"] == {}
        listed = _models(serve_app)
        assert {m: listed[m]["status"] for m in NEURAL} == dict.fromkeys(NEURAL, "expired")

        # a failing retraining: nothing published, the current version serves, failure shown
        finished = _tick_until_finished(handle, timeout_s=120)
        assert all(f["version"] is None and f["error"] for f in finished), finished
        listed = _models(serve_app)
        for name in NEURAL:
            assert listed[name]["latest"] == old[name] and listed[name]["status"] == "expired"
            assert listed[name]["retraining"]["status"] == "failed"
            assert listed[name]["retraining"]["serving"] == old[name]
        assert _predict(serve_app, frame)["models"]["transformer"]["status"] == "expired"

        # a successful one: published, picked up without a restart, replaced version kept
        handle = _deploy(serve_app, registry, tmp_path / "s.db", data, tmp_path / "tune")
        before = _predict(serve_app, frame)["models"]  # the replicas load the aged versions
        assert {m: before[m]["version"] for m in NEURAL} == old
        finished = _tick_until_finished(handle, timeout_s=600)
        assert all(f["version"] and f["error"] is None for f in finished), finished
        new = {f["model"]: f["version"] for f in finished}
        listed = _models(serve_app)
        for name in NEURAL:
            assert new[name] != old[name] and listed[name]["latest"] == new[name]
            assert listed[name]["status"] == "ok"
            assert listed[name]["retraining"]["status"] == "published"
            assert listed[name]["versions"] == [old[name], new[name]]
        answer = _predict(serve_app, frame)
        for name in NEURAL:
            assert answer["models"][name]["status"] == "ok"
            assert answer["models"][name]["version"] == new[name]
    finally:
        serve_app.serve.delete(APP)
