"""The compiled-loop decorator: compiles, keeps the Python original, survives no cache."""

from __future__ import annotations

import numpy as np
import pytest

from models import compiled as compiled_module
from models.compiled import compiled


def _running_total(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    total = 0.0
    for i in range(x.size):
        total += x[i]
        out[i] = total
    return out


def test_compiled_equals_its_python_original() -> None:
    fast = compiled(_running_total)
    x = np.random.default_rng(0).normal(size=500)
    np.testing.assert_array_equal(fast(x), fast.py_func(x))  # type: ignore[attr-defined]
    np.testing.assert_array_equal(fast(x), np.cumsum(x))


def test_without_a_writable_cache_it_compiles_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    real = compiled_module.numba.njit

    def no_cache(*args: object, **kwargs: object) -> object:
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'f'")
        return real(*args, **kwargs)

    monkeypatch.setattr(compiled_module.numba, "njit", no_cache)
    fast = compiled(_running_total)
    np.testing.assert_array_equal(fast(np.ones(4)), [1.0, 2.0, 3.0, 4.0])


def test_first_extreme_reads_only_the_first_n_slots() -> None:
    from models.compiled import first_extreme

    slots = np.array([3.0, 7.0, 1.0, 99.0, -5.0])
    assert first_extreme(slots, 3, True) == 7.0
    assert first_extreme(slots, 3, False) == 1.0
    assert np.isnan(first_extreme(slots, 0, True))
