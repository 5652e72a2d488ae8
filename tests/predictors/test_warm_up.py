"""The replicas' warm-up compiles every compiled loop the features run: nothing the members
run afterwards compiles again."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np

from models.predictors.warm_up import synthetic_candles
from models.smc.analyzer import analyze_smc_arrays

_CHECK = textwrap.dedent(
    """
    import importlib, pkgutil
    import numba
    import models
    from models.predictors.warm_up import compile_feature_kernels

    names = [m.name for m in pkgutil.walk_packages(models.__path__, "models.")]
    kernels = {}
    for name in names:
        if name.split(".")[1] in ("features", "smc", "regime", "predictors"):
            module = importlib.import_module(name)
            for attr, obj in vars(module).items():
                if isinstance(obj, numba.core.registry.CPUDispatcher):
                    kernels[f"{name}.{attr}"] = obj
    compile_feature_kernels()
    warmed = {k: len(d.signatures) for k, d in kernels.items()}

    # what the members and features run on other candles, other settings
    from models.features import compute_indicators
    from models.features.model_features import compute_model_features
    from models.predictors.tree_features import tree_features
    from models.predictors.warm_up import synthetic_candles
    from models.regime.detector import detect_regimes
    from models.smc.analyzer import analyze_smc
    from models.smc.config import SmcConfig

    candles = synthetic_candles(1500, seed=7)
    tree_features(candles, candles.tail(900))
    analyze_smc(candles, SmcConfig(max_active=3, fvg_min_size_atr=0.5))
    detect_regimes(candles.tail(400))
    compute_model_features(compute_indicators(candles))
    later = sorted(k for k, d in kernels.items() if len(d.signatures) != warmed[k])
    print(len(kernels), sum(map(bool, warmed.values())), later)
    """
)


def test_every_compiled_loop_is_compiled_by_the_warm_up() -> None:
    """In a fresh process (where nothing else has called them yet)."""
    out = subprocess.run(
        [sys.executable, "-c", _CHECK], capture_output=True, text=True, check=True, timeout=300
    ).stdout.split(maxsplit=2)
    kernels, warmed, compiled_later = int(out[0]), int(out[1]), out[2].strip()
    assert kernels >= 10 and warmed >= 8, out  # helpers called only by kernels have none
    assert compiled_later == "[]", out


def test_synthetic_candles_are_valid_and_seeded() -> None:
    a, b = synthetic_candles(300, seed=1), synthetic_candles(300, seed=1)
    assert a.equals(b) and a.height == 300
    assert (a["high"] >= a[["open", "close"]].max_horizontal()).all()
    assert (a["low"] <= a[["open", "close"]].min_horizontal()).all()
    analyze_smc_arrays(a)  # validated like real candles
    assert np.isfinite(a["close"].to_numpy()).all()
