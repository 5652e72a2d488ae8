"""Build a network by name, so configs (and Tune search spaces) stay plain dictionaries."""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from models.errors import ConfigError
from models.nets.searchable import SearchableNetwork
from models.predictors.registry import PREDICTORS, load_target

NETWORKS: dict[str, type[SearchableNetwork]] = {
    e.name: load_target(e.network) for e in PREDICTORS if e.network is not None
}
"""Predictor name -> network class, from the neural entries of the predictor registry."""


def hparam_names(name: str) -> tuple[str, ...]:
    """The keyword hyperparameters network ``name`` accepts."""
    cls = _network(name)
    params = inspect.signature(cls.__init__).parameters.values()
    return tuple(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)


def default_hparams(name: str) -> dict[str, Any]:
    """The default hyperparameters of network ``name``."""
    params = inspect.signature(_network(name).__init__).parameters.values()
    return {p.name: p.default for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}


def build_model(name: str, n_features: int, **hparams: Any) -> nn.Module:
    """Network ``name`` for ``n_features`` inputs; unknown hyperparameters are an error."""
    cls = _network(name)
    if not isinstance(n_features, int) or n_features < 1:
        raise ConfigError(f"n_features: must be a positive integer, got {n_features!r}")
    unknown = set(hparams) - set(hparam_names(name))
    if unknown:
        raise ConfigError(
            f"hparams: unknown for {name!r}: {sorted(unknown)}; known: {list(hparam_names(name))}"
        )
    return cls(n_features, **hparams)


def _network(name: str) -> type[SearchableNetwork]:
    try:
        return NETWORKS[name]
    except KeyError:
        raise ConfigError(f"model: unknown network {name!r}; known: {sorted(NETWORKS)}") from None
