"""A LightGBM booster in the registry's state dict: saving and loading it.

Training saves the booster here and the tree predictor loads it, so the format lives with
the predictors (training imports predictors, never the other way round). The booster text
is LightGBM's own format stored as a uint8 tensor in ``weights.pt``, so the registry's
hashing and atomic publish cover it like any network's weights.
"""

from __future__ import annotations

from typing import Any

import torch

from models.errors import ConfigError, CorruptModelError

SYMBOL_FEATURE = "symbol_id"
"""Name of the categorical symbol column the pooled variant may append."""
STATE_KEY = "lgbm_model"
"""Key of the booster text in the published state dict."""


def lightgbm_module() -> Any:
    """The lightgbm module, or a ConfigError saying how to install it."""
    try:
        import lightgbm
    except ImportError:  # pragma: no cover - a dependency, but fail with the fix
        raise ConfigError("the lgbm model needs LightGBM: pip install lightgbm") from None
    return lightgbm


def best_round(booster: Any) -> int:
    """Rounds in use: the early-stopping best, or every tree of a booster saved at its best
    (a booster read back from text reports ``best_iteration`` -1)."""
    best = int(booster.best_iteration or 0)
    return best if best > 0 else int(booster.current_iteration())


def booster_state(booster: Any) -> dict[str, torch.Tensor]:
    """The booster (best round only) as the registry's state dict."""
    text = booster.model_to_string(num_iteration=best_round(booster))
    return {STATE_KEY: torch.frombuffer(bytearray(text.encode()), dtype=torch.uint8)}


def booster_from_state(state: dict[str, torch.Tensor], where: str = "weights.pt") -> Any:
    """Rebuild a booster saved by :func:`booster_state`."""
    if STATE_KEY not in state:
        raise CorruptModelError(f"{where}: no {STATE_KEY!r} entry (not an lgbm artifact)")
    text = bytes(state[STATE_KEY].numpy().tobytes()).decode()
    try:
        return lightgbm_module().Booster(model_str=text)
    except Exception as exc:  # LightGBM raises its own LightGBMError
        raise CorruptModelError(f"{where}: unreadable LightGBM model ({exc})") from None
