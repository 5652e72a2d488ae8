"""The public surface of models.regime: pinned names, loaded lazily so `state` stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import models.regime
from models.regime import detector, state


def test_exported_names_resolve_to_their_modules() -> None:
    assert models.regime.__all__ == [
        "REGIMES",
        "RegimeConfig",
        "RegimeDetector",
        "RegimeState",
        "detect_regimes",
    ]
    assert models.regime.detect_regimes is detector.detect_regimes
    assert models.regime.REGIMES is state.REGIMES
    assert set(models.regime.__all__) <= set(dir(models.regime))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        models.regime.nope  # noqa: B018


def test_importing_the_ensemble_does_not_load_the_detector() -> None:
    code = (
        "import sys, models.ensemble; "
        "print('models.regime.detector' in sys.modules, 'scipy.signal' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
