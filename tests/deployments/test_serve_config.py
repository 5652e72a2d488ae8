"""configs/serve_local.yaml: valid for Ray Serve, builds this app, fits on 2 cores."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deployments.app import DEPLOYMENTS
from deployments.config_file import load_serve_config
from deployments.ensemble import EnsembleUserConfig
from deployments.settings import AppSettings
from deployments.trained import TrainedUserConfig
from models.errors import ConfigError
from models.predictors.registry import PREDICTORS
from tests.cluster.serve_schema import build_application, validate_serve_config

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "configs" / "serve_local.yaml"
USER_CONFIGS = {"ensemble": EnsembleUserConfig}
USER_CONFIGS.update({e.name: TrainedUserConfig for e in PREDICTORS if e.trained and e.served})


def test_local_config_is_valid_and_builds_every_deployment():
    raw = yaml.safe_load(LOCAL.read_text())
    schema = validate_serve_config(raw)
    built = build_application(schema.applications[0])
    assert {d.name for d in built.deployments} == {d.name for d in DEPLOYMENTS.values()}
    assert built.ingress_deployment_name == "Ingress"


def test_local_config_fits_two_cores_and_parses():
    config = load_serve_config(LOCAL)
    AppSettings.parse(config.args)
    assert set(config.options) == set(DEPLOYMENTS)
    cpus = sum(
        o["ray_actor_options"]["num_cpus"] * o.get("num_replicas", 1)
        for o in config.options.values()
    )
    assert cpus <= 2.0
    assert all(o["ray_actor_options"]["num_cpus"] <= 0.25 for o in config.options.values())
    assert config.options["state"]["num_replicas"] == 1
    for role, model in USER_CONFIGS.items():
        model.model_validate(config.options[role]["user_config"])


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("applications: []", "exactly one"),
        ("[1, 2]", "mapping"),
        ("a: [", "not valid YAML"),
        (
            "applications:\n  - import_path: deployments.app:build_app\n"
            "    deployments:\n      - name: Nope\n",
            "unknown name 'Nope'",
        ),
    ],
)
def test_bad_config_files_name_the_problem(tmp_path, text, needle):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load_serve_config(path)


def test_inference_precision_defaults_to_auto_and_rejects_unknown_values():
    assert AppSettings.parse({}).inference_precision == "auto"
    assert AppSettings.parse({"inference_precision": "float32"}).inference_precision == "float32"
    with pytest.raises(ConfigError, match="inference_precision"):
        AppSettings.parse({"inference_precision": "fp16"})


def test_the_served_predictors_can_be_chosen_by_name():
    """``args.predictors`` serves a subset (in registry order); the window the service keeps
    follows the chosen ones' needs; unknown or repeated names are refused, named."""
    every = AppSettings.parse({})
    assert every.served_predictors() == tuple(e.name for e in PREDICTORS if e.served)
    assert every.fetch_bars() == 720  # lgbm's
    four = AppSettings.parse({"predictors": ["smc", "transformer", "cnn_lstm", "indicators"]})
    assert four.served_predictors() == ("transformer", "cnn_lstm", "indicators", "smc")
    assert four.fetch_bars() == four.window_bars == 512
    for bad in (["nope"], ["smc", "smc"], []):
        with pytest.raises(ConfigError, match="predictors"):
            AppSettings.parse({"predictors": bad})
    from ray.serve._private.build_app import build_app

    from deployments.app import compose

    names = {d.name for d in build_app(compose(four), name="four").deployments}
    assert "LgbmDeployment" not in names and {"SmcDeployment", "Ingress"} <= names
    names = {d.name for d in build_app(compose(every), name="five").deployments}
    assert "LgbmDeployment" in names


def test_default_deployment_options_fit_two_cores():
    """Without a config file (``scripts/serve.py --registry r``) every deployment's own
    ``num_cpus`` applies: the whole app must still schedule on 2 cores."""
    cpus = sum(
        d.ray_actor_options["num_cpus"] * (d.num_replicas or 1) for d in DEPLOYMENTS.values()
    )
    assert cpus <= 2.0, cpus
