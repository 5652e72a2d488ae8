"""configs/serve_production.yaml: valid for Ray Serve, and about the application it deploys.

Validated with Ray Serve's own ``ServeDeploySchema`` (what ``serve deploy`` sends), strict
about keys Ray would silently ignore; its import path is imported and the builder called
with its ``args``, exactly as Serve does, so every configured deployment must exist in that
graph. The rest pins what the file promises: autoscaling, fractional GPUs for the neural
predictors only, shared (s3) registry, one head-pinned state replica, public HTTP host.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from deployments.ensemble import EnsembleUserConfig
from deployments.retrainer import RetrainUserConfig
from deployments.settings import AppSettings
from deployments.trained import TrainedUserConfig
from models.predictors.registry import PREDICTORS
from tests.cluster.serve_schema import (
    build_application,
    deployments_by_name,
    validate_serve_config,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "serve_production.yaml"
NEURAL = {e.deployment_name for e in PREDICTORS if e.kind == "neural"}
STATE = "StateDeployment"
SINGLE = {STATE, "RetrainerDeployment", "FeedDeployment"}
"""One replica each: the SQLite writer, the retraining scheduler and the candle feed."""
USER_CONFIGS = {
    "EnsembleDeployment": EnsembleUserConfig,
    **{e.deployment_name: TrainedUserConfig for e in PREDICTORS if e.trained and e.served},
    "RetrainerDeployment": RetrainUserConfig,
}
"""Deployments with runtime knobs (``reconfigure``) and the model each user_config parses as."""


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return yaml.safe_load(CONFIG.read_text())


@pytest.fixture(scope="module")
def app(config: dict[str, Any]) -> dict[str, Any]:
    (only,) = config["applications"]
    return only


def test_passes_ray_serve_schema(config: dict[str, Any]) -> None:
    schema = validate_serve_config(config)
    assert schema.http_options.host == "0.0.0.0"
    assert [a.import_path for a in schema.applications] == ["deployments.app:build_app"]


def test_every_deployment_exists_in_the_built_application(config: dict[str, Any]) -> None:
    schema = validate_serve_config(config)
    built = build_application(schema.applications[0])
    in_app = {d.name for d in built.deployments}
    configured = set(deployments_by_name(config["applications"][0]))
    assert configured == in_app
    assert built.ingress_deployment_name == "Ingress"


def test_app_args_are_valid_settings_with_a_shared_registry(app: dict[str, Any]) -> None:
    settings = AppSettings.parse(app["args"])
    assert settings.registry is not None and settings.registry.startswith("s3://")


def test_user_configs_are_accepted_by_their_deployments(app: dict[str, Any]) -> None:
    configured = {
        n: d["user_config"] for n, d in deployments_by_name(app).items() if "user_config" in d
    }
    assert set(configured) <= set(USER_CONFIGS), "user_config on a deployment without knobs"
    # production tunes the ensemble's batching and every network's batching and version checks
    assert {"EnsembleDeployment", *NEURAL} <= set(configured)
    for name, user_config in configured.items():
        USER_CONFIGS[name].model_validate(user_config)


def test_stateless_deployments_autoscale(app: dict[str, Any]) -> None:
    for name, dep in deployments_by_name(app).items():
        if name in SINGLE:
            continue
        auto = dep["autoscaling_config"]
        assert "num_replicas" not in dep, name
        assert 1 <= auto["min_replicas"] < auto["max_replicas"], name
        assert auto["target_ongoing_requests"] <= dep["max_ongoing_requests"], name
        assert auto["upscale_delay_s"] < auto["downscale_delay_s"], name


def test_neural_predictors_share_gpus_and_the_rest_use_cpus(app: dict[str, Any]) -> None:
    for name, dep in deployments_by_name(app).items():
        options = dep["ray_actor_options"]
        assert options["num_cpus"] > 0, name
        if name in NEURAL:
            assert 0 < options["num_gpus"] < 1, name
        else:
            assert options.get("num_gpus", 0) == 0, name


def test_feed_is_one_replica(app: dict[str, Any]) -> None:
    feed = deployments_by_name(app)["FeedDeployment"]
    assert feed["num_replicas"] == 1 and "autoscaling_config" not in feed


def test_state_is_one_replica_on_the_head_node(app: dict[str, Any]) -> None:
    state = deployments_by_name(app)[STATE]
    assert state["num_replicas"] == 1 and "autoscaling_config" not in state
    assert "node:__internal_head__" in state["ray_actor_options"]["resources"]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("autoscaling_config", "min_replicas"), 9),  # above max_replicas
        (("ray_actor_options", "num_gpu"), 0.5),  # misspelt: Ray forbids it
        (("autoscalng_config",), {"min_replicas": 1}),  # misspelt: Ray would ignore it
    ],
)
def test_validation_catches_broken_deployments(config: dict[str, Any], path, value) -> None:
    broken = copy.deepcopy(config)
    target = broken["applications"][0]["deployments"][0]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValueError):
        validate_serve_config(broken)
