"""Tune search spaces: a few architecture-neutral knobs mapped onto each network's hparams.

Tune samples ``lr, dropout, width, depth, seq_len``; :func:`network_hparams` turns ``width``
and ``depth`` into the keyword arguments of the named network (its ``search_hparams``; the
depths it allows are its ``search_depths``), so the search space, the
reporter columns and the summary read the same for every model. The ``small`` preset keeps
trials affordable on a 2-core machine; the full preset is meant for GPU workers.
"""

from __future__ import annotations

from typing import Any, TypedDict

from ray import tune

from models.errors import ConfigError
from models.predictors.networks import NETWORKS

SEARCH_KEYS: tuple[str, ...] = ("lr", "dropout", "width", "depth", "seq_len")
"""The sampled hyperparameters (also the parameter columns of the progress table)."""


class _Preset(TypedDict):
    lr: tuple[float, float]
    dropout: tuple[float, float]
    width: list[int]
    seq_len: list[int]


_FULL: _Preset = {
    "lr": (1e-4, 3e-3),
    "dropout": (0.05, 0.4),
    "width": [64, 128, 256],
    "seq_len": [32, 64, 128],
}
_SMALL: _Preset = {
    "lr": (3e-4, 3e-3),
    "dropout": (0.0, 0.3),
    "width": [16, 32],
    "seq_len": [16, 32],
}


def check_model(model: str) -> None:
    """Raise :class:`ConfigError` for a network name we cannot build."""
    if model not in NETWORKS:
        raise ConfigError(f"model: unknown {model!r}; known: {sorted(NETWORKS)}")


def search_space(model: str, *, small: bool = False) -> dict[str, Any]:
    """The Tune param space of ``model`` (Tune domains; constants may be added beside it)."""
    check_model(model)
    preset = _SMALL if small else _FULL
    return {
        "lr": tune.loguniform(*preset["lr"]),
        "dropout": tune.uniform(*preset["dropout"]),
        "width": tune.choice(preset["width"]),
        "depth": tune.choice(list(NETWORKS[model].search_depths["small" if small else "full"])),
        "seq_len": tune.choice(preset["seq_len"]),
    }


def longest_window(*, small: bool = False) -> int:
    """The largest ``seq_len`` the search may sample (what the data must be long enough for)."""
    return max((_SMALL if small else _FULL)["seq_len"])


def _positive_int(config: dict[str, Any], key: str) -> int:
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{key}: must be a positive integer, got {value!r}")
    return value


def network_hparams(model: str, config: dict[str, Any]) -> dict[str, Any]:
    """Keyword hparams of network ``model`` for a sampled ``config``."""
    check_model(model)
    width = _positive_int(config, "width")
    depth = _positive_int(config, "depth")
    dropout = float(config.get("dropout", 0.1))
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout: must be in [0, 1), got {dropout!r}")
    return NETWORKS[model].search_hparams(width, depth, dropout)
