"""The public surface of models.training: pinned names, loaded lazily (labels without torch)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import models.training
from models.training import dataset


def test_exported_names_resolve_to_their_modules() -> None:
    assert models.training.__all__ == [
        "PreparedData",
        "TrainConfig",
        "TrainResult",
        "baseline_metrics",
        "evaluate_classifier",
        "prepare_symbol_data",
        "publish_result",
        "train_model",
    ]
    assert models.training.PreparedData is dataset.PreparedData
    for name in models.training.__all__:
        assert getattr(models.training, name).__module__.startswith("models.training.")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        models.training.nope  # noqa: B018


def test_labels_import_without_torch_or_ray() -> None:
    code = (
        "import sys, models.training, models.labels; "
        "print('torch' in sys.modules, 'ray' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
