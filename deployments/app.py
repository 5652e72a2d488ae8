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
from deployments.neural import CnnLstmDeployment, TransformerDeployment
from deployments.rules import IndicatorsDeployment, RegimeDeployment, SmcDeployment
from deployments.settings import AppSettings
from deployments.state import StateDeployment

DEPLOYMENTS: dict[str, Deployment] = {
    "indicators": IndicatorsDeployment,
    "smc": SmcDeployment,
    "regime": RegimeDeployment,
    "transformer": TransformerDeployment,
    "cnn_lstm": CnnLstmDeployment,
    "state": StateDeployment,
    "ensemble": EnsembleDeployment,
    "feed": FeedDeployment,
    "ingress": Ingress,
}
"""Role -> deployment. Deployment names (for Serve configs) are the class names."""


def _absolute(settings: AppSettings) -> AppSettings:
    """Local paths made absolute here, where the caller's working directory is known
    (replicas run elsewhere). URIs such as ``s3://`` are left alone."""
    changes: dict[str, Any] = {}
    for name in ("registry", "state_db", "ensemble_config"):
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
        return parts[role].options(**opts[role]) if role in opts else parts[role]

    s = _absolute(settings).model_dump(mode="json")
    rules = [node(role).bind() for role in ("indicators", "smc", "regime")]
    state = node("state").bind(s)
    transformer, cnn_lstm = node("transformer").bind(s), node("cnn_lstm").bind(s)
    ensemble = node("ensemble").bind(*rules, transformer, cnn_lstm, state, s)
    feed = node("feed").bind(state, ensemble, s)  # idles unless args.feed is set
    return node("ingress").bind(ensemble, state, transformer, cnn_lstm, *rules, s, feed=feed)


def build_app(args: dict[str, Any] | None = None) -> Application:
    """Serve application builder; ``args`` are the :class:`AppSettings` fields."""
    return compose(AppSettings.parse(args))
