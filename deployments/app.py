"""The application graph: every deployment bound to the ones it calls.

``build_app`` is the Serve application builder (``import_path: deployments.app:build_app``
in a Serve config, or ``serve run deployments.app:build_app registry=... state_db=...``);
its ``args`` are :class:`~deployments.settings.AppSettings`. Replica counts, CPUs and
``user_config`` of each deployment come from the Serve config (configs/serve_local.yaml).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ray.serve import Application
from ray.serve.deployment import Deployment

from deployments.ensemble import EnsembleDeployment
from deployments.feed import FeedDeployment
from deployments.ingress import Ingress
from deployments.retrainer import RetrainerDeployment
from deployments.rules import RegimeDeployment, RuleDeployment
from deployments.settings import AppSettings
from deployments.state import StateDeployment
from deployments.trained import TrainedDeployment
from models.predictors.registry import PREDICTORS, Kind


def _deployment(decorated: object) -> Deployment:
    """A ``@serve.deployment`` class as the ``Deployment`` it is at run time (the type
    checker does not apply class decorators, so to it the name is still the class)."""
    if not isinstance(decorated, Deployment):
        raise TypeError(f"{decorated!r} is not a Serve deployment")
    return decorated


KIND_DEPLOYMENTS: dict[Kind, Deployment] = {
    "rule": RuleDeployment,
    "neural": TrainedDeployment,
    "tree": TrainedDeployment,
}
"""The deployment class that serves each kind of predictor."""

SERVED = tuple(e for e in PREDICTORS if e.served)
PREDICTOR_ROLES: tuple[str, ...] = tuple(e.name for e in SERVED)
"""Roles that are predictors: one deployment each, bound with its name."""

DEPLOYMENTS: dict[str, Deployment] = {
    **{e.name: KIND_DEPLOYMENTS[e.kind].options(name=e.deployment_name) for e in SERVED},
    "regime": _deployment(RegimeDeployment),
    "state": _deployment(StateDeployment),
    "ensemble": _deployment(EnsembleDeployment),
    "retrainer": _deployment(RetrainerDeployment),
    "feed": _deployment(FeedDeployment),
    "ingress": _deployment(Ingress),
}
"""Role -> deployment: one per registered predictor (named ``entry.deployment_name``, e.g.
``TransformerDeployment``), then the fixed ones (named by their class). Serve configs list
deployments by these names."""


def _absolute(settings: AppSettings) -> AppSettings:
    """Local paths made absolute here, where the caller's working directory is known
    (replicas run elsewhere). URIs such as ``s3://`` are left alone."""
    changes: dict[str, Any] = {}
    for name in ("registry", "state_db", "ensemble_config", "retrain_data"):
        value = getattr(settings, name)
        if value and "://" not in value:
            changes[name] = str(Path(value).expanduser().resolve())
    return settings.model_copy(update=changes)


def compose(
    settings: AppSettings,
    replace: Mapping[str, Deployment] | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> Application:
    """Bind the graph. ``replace`` swaps a role's deployment (tests use a failing
    predictor); ``options`` are ``Deployment.options`` per role."""
    parts = {**DEPLOYMENTS, **(replace or {})}
    opts = options or {}

    def node(role: str) -> Deployment:
        deployment = parts[role]
        if role in PREDICTOR_ROLES:  # a replacement keeps the name configs know it by
            deployment = deployment.options(name=DEPLOYMENTS[role].name)
        return deployment.options(**opts[role]) if role in opts else deployment

    s = _absolute(settings).model_dump(mode="json")
    served = settings.served_predictors()
    predictors = {name: node(name).bind(name, s) for name in PREDICTOR_ROLES if name in served}
    regime, state = node("regime").bind(), node("state").bind(s)
    ensemble = node("ensemble").bind(predictors, regime, state, s)
    trained = {e.name: predictors[e.name] for e in SERVED if e.trained and e.name in served}
    retrainer = node("retrainer").bind(trained, s)
    feed = node("feed").bind(state, ensemble, s)  # idles unless args.feed is set
    return node("ingress").bind(
        ensemble, state, predictors, regime, s, retrainer=retrainer, feed=feed
    )


def build_app(args: dict[str, Any] | None = None) -> Application:
    """Serve application builder; ``args`` are the :class:`AppSettings` fields."""
    return compose(AppSettings.parse(args))
