"""Checks shared by the Serve config tests: Ray's own schema, plus the typos it lets through.

``ServeDeploySchema`` ignores unknown keys in a deployment (forward compatibility), so a
misspelt ``autoscalng_config`` would validate and silently do nothing; :func:`unknown_keys`
names every key that Ray's models do not define. :func:`build_application` does what
``serve deploy`` does with an application entry before starting replicas: import the
builder, call it with ``args``, and list the deployments of the resulting graph.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from ray.serve.config import AutoscalingConfig
from ray.serve.schema import (
    DeploymentSchema,
    HTTPOptionsSchema,
    RayActorOptionsSchema,
    ServeApplicationSchema,
    ServeDeploySchema,
)

_NESTED: dict[str, type[BaseModel]] = {
    "autoscaling_config": AutoscalingConfig,
    "ray_actor_options": RayActorOptionsSchema,
}


def _fields(model: type[BaseModel]) -> set[str]:
    names = set(model.model_fields)
    return names | {f.alias for f in model.model_fields.values() if f.alias}


def _extra(keys: Any, model: type[BaseModel], where: str) -> list[str]:
    allowed = _fields(model)
    return [f"{where}{k}" for k in keys or {} if k not in allowed]


def unknown_keys(config: dict[str, Any]) -> list[str]:
    """Dotted paths of keys in a Serve deploy config that Ray's schema does not define."""
    bad = _extra(config, ServeDeploySchema, "")
    bad += _extra(config.get("http_options"), HTTPOptionsSchema, "http_options.")
    for app in config.get("applications", []):
        where = f"applications[{app.get('name')}]."
        bad += _extra(app, ServeApplicationSchema, where)
        for dep in app.get("deployments", []):
            at = f"{where}{dep.get('name')}."
            bad += _extra(dep, DeploymentSchema, at)
            for key, model in _NESTED.items():
                bad += _extra(dep.get(key), model, f"{at}{key}.")
    return bad


def validate_serve_config(config: dict[str, Any]) -> ServeDeploySchema:
    """Ray Serve's validation of a ``serve deploy`` config, strict about unknown keys."""
    schema = ServeDeploySchema.model_validate(config)
    for app in schema.applications:
        for dep in app.deployments:
            # kept as a plain dict by the schema; Serve validates it only when deploying
            if isinstance(dep.autoscaling_config, dict):
                AutoscalingConfig.model_validate(dep.autoscaling_config)
    bad = unknown_keys(config)
    if bad:
        raise ValueError(f"keys Ray Serve does not know: {bad}")
    return schema


def build_application(app: ServeApplicationSchema) -> Any:
    """The ``BuiltApplication`` (deployments, ingress name) of an application entry."""
    from ray._common.utils import import_attr
    from ray.serve._private.api import call_user_app_builder_with_args_if_necessary
    from ray.serve._private.build_app import build_app

    builder = import_attr(app.import_path)
    application = call_user_app_builder_with_args_if_necessary(builder, app.args)
    return build_app(application, name=app.name)


def deployments_by_name(app: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``deployments`` entries of one application, keyed by name."""
    return {dep["name"]: dep for dep in app.get("deployments", [])}
