"""Ensemble configuration: one validated pydantic model, loadable from YAML and environment.

Precedence (highest first): environment variables ``SMARTMARKET_ENSEMBLE_<FIELD>`` (nested
sections with ``__``, e.g. ``SMARTMARKET_ENSEMBLE_LEARNING__COMBINER__SHRINKAGE=1000``),
then the YAML file given to :meth:`EnsembleConfig.from_yaml`, then the defaults below.
Environment values override YAML key by key (``members`` is a whole list; JSON works in the
environment: ``SMARTMARKET_ENSEMBLE_MEMBERS='["transformer", "lgbm"]'``).

``mode`` picks the one combiner an :class:`~models.ensemble.Ensemble` builds: ``learned``
(the default; its settings are ``learning``, its members ``members``) or ``original`` (the
replaced system; every setting of it is in the ``original`` section,
:mod:`models.ensemble.original_config`). A setting of the other mode is never read.

Every failure (unknown key, wrong type, out-of-range value, a key of the configuration
layout before the ``original`` section existed) raises :class:`models.errors.ConfigError`
whose message names each offending field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from models.config_errors import describe_validation_error
from models.ensemble.learning_config import LearningConfig
from models.ensemble.original_config import ORIGINAL_PRESET, OriginalConfig
from models.errors import ConfigError
from models.predictors.registry import default_members
from models.yaml_file import read_mapping

ENV_PREFIX = "SMARTMARKET_ENSEMBLE_"
"""Prefix of every environment variable the ensemble config reads."""

CONFIG_PATH_ENV = "SMARTMARKET_ENSEMBLE_CONFIG"
"""Environment variable naming a YAML file for :meth:`EnsembleConfig.load`."""

EnsembleMode = Literal["learned", "original"]

DEFAULT_MEMBERS: tuple[str, ...] = default_members()
"""The learned ensemble's default members: the predictor registry's default members."""

MOVED: dict[str, str] = {
    "weights": "the learned ensemble's members are `members` (a list; it learns their "
    "weights), the original preset's static weights are `original.weights`",
    "confidence_threshold": "`original.confidence_threshold`",
    "voting_method": "`original.voting_method`",
    "tracking": "`original.tracking`",
    "regime": "`original.regime`",
    "adaptive_threshold": "`original.adaptive_threshold`",
    "quality": "`original.quality`",
}
"""Top-level keys of the layout before the ``original`` section, and where they went."""


class EnsembleConfig(BaseSettings):
    """Everything the ensemble needs (see the module docstring)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    mode: EnsembleMode = "learned"
    members: tuple[str, ...] = DEFAULT_MEMBERS
    """The learned ensemble's members (``original`` mode: ``original.weights`` names its)."""
    min_models: int = Field(2, ge=1)
    """Fewest members with a usable prediction (and a say) for a non-degraded signal."""
    strong_signal_margin: float = Field(0.1, ge=0, le=1, allow_inf_nan=False)
    """Actionable signals at least this far above the threshold are STRONG_BUY / STRONG_SELL."""
    learning: LearningConfig = LearningConfig()
    original: OriginalConfig = OriginalConfig()

    def __init__(self, **data: Any) -> None:
        _reject_unknown_env()
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, "ensemble config")) from None

    @model_validator(mode="before")
    @classmethod
    def _refuse_moved_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            moved = [k for k in MOVED if k in data]
            if moved:
                where = "; ".join(f"{k}: {MOVED[k]}" for k in moved)
                raise ValueError(f"moved key(s) {moved} ({where})")
        return data

    @field_validator("members")
    @classmethod
    def _valid_members(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one member is needed")
        if len(set(value)) != len(value) or not all(isinstance(m, str) and m for m in value):
            raise ValueError(f"need distinct non-empty names, got {list(value)}")
        return value

    @property
    def models(self) -> tuple[str, ...]:
        """The expected models of the active combiner, in configuration order."""
        return self.members if self.mode == "learned" else tuple(self.original.weights)

    @classmethod
    def preset(cls, name: str) -> EnsembleConfig:
        """A named configuration: ``learned`` (the defaults) or ``original`` (the system this
        replaces, :data:`~models.ensemble.original_config.ORIGINAL_PRESET`)."""
        if name == "learned":
            return cls.from_dict({})
        if name == "original":
            return cls.from_dict(ORIGINAL_PRESET)
        raise ConfigError(f"ensemble preset: unknown name {name!r}; known: learned, original")

    @classmethod
    def from_yaml(cls, path: str | Path) -> EnsembleConfig:
        """Load ``path`` (a YAML mapping), with environment variables overriding it."""
        data = read_mapping(Path(path), "ensemble config")
        env = EnvSettingsSource(cls)()
        return cls(**_deep_merge(data, env))

    @classmethod
    def load(cls) -> EnsembleConfig:
        """The YAML named by ``$SMARTMARKET_ENSEMBLE_CONFIG`` if set, else defaults (+ env)."""
        path = os.environ.get(CONFIG_PATH_ENV)
        return cls.from_yaml(path) if path else cls()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EnsembleConfig:
        """Rebuild from :meth:`to_dict` output, ignoring the environment (exact restore)."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, "ensemble config")) from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (what :meth:`from_dict` and YAML files accept)."""
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        """YAML text of the full config (a starting point for a config file)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _reject_unknown_env() -> None:
    """Name prefixed environment variables that match no field (pydantic ignores them)."""
    known = set(EnsembleConfig.model_fields)
    unknown = []
    for name in os.environ:
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper == CONFIG_PATH_ENV:
            continue
        field = upper[len(ENV_PREFIX) :].split("__", 1)[0].lower()
        if field not in known:
            unknown.append(name)
    if unknown:
        moved = [n for n in unknown if n.upper()[len(ENV_PREFIX) :].split("__")[0].lower() in MOVED]
        hint = f" ({', '.join(moved)}: moved under ORIGINAL__ or to MEMBERS)" if moved else ""
        raise ConfigError(
            f"ensemble config: unknown environment variable(s) {sorted(unknown)}{hint}; "
            f"fields: {', '.join(sorted(known))}"
        )


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it, mappings merged key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
