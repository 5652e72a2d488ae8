"""The base of every ensemble config section: unknown keys rejected, errors as ConfigError."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from models.config_errors import describe_validation_error
from models.errors import ConfigError


def check_unit(value: float) -> float:
    """A validator body: ``value`` must lie in [0, 1]."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"must be in [0, 1], got {value}")
    return value


class Section(BaseModel):
    """A config section: unknown keys rejected, failures raised as :class:`ConfigError`."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, type(self).__name__)) from None

    # Tell pydantic this __init__ only wraps errors, so nested validation inside
    # EnsembleConfig keeps full field paths (the same trick pydantic-settings uses).
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]
