"""The ensemble configuration the serving application uses (same in every deployment)."""

from __future__ import annotations

from deployments.settings import AppSettings
from models.ensemble import EnsembleConfig


def load_ensemble_config(app: AppSettings) -> EnsembleConfig:
    """``app.ensemble_config`` (YAML) if given, else ``EnsembleConfig.load()`` (env/defaults).

    The state and ensemble deployments must agree on it: the state replica learns with the
    same models, weights and thresholds the serving replicas combine with.
    """
    if app.ensemble_config:
        return EnsembleConfig.from_yaml(app.ensemble_config)
    return EnsembleConfig.load()
