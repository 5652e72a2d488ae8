"""Per-feature standardisation, fitted on training rows only and saved with each model.

Inference needs it as much as training does (a neural predictor scales its window with the
scaler it was published with), so it lives with the features, below both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.errors import ConfigError


@dataclass(frozen=True)
class Scaler:
    """Per-feature mean / std, fitted on training rows and saved with the model."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, rows: np.ndarray) -> Scaler:
        """Fit on a (rows, features) array; constant features get std 1 (no divide by 0)."""
        mean = rows.mean(axis=0)
        std = rows.std(axis=0)
        return cls(mean=mean, std=np.where(std > 1e-12, std, 1.0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        scaled: np.ndarray = ((x - self.mean) / self.std).astype(np.float32)
        return scaled

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scaler:
        mean = np.asarray(data["mean"], dtype=np.float64)
        std = np.asarray(data["std"], dtype=np.float64)
        if mean.shape != std.shape or mean.ndim != 1 or np.any(std <= 0):
            raise ConfigError("scaler: mean/std must be equal-length vectors with std > 0")
        return cls(mean=mean, std=std)
