"""Compiled per-bar loops: numba's nopython JIT, cached on disk, typed for mypy.

A few passes carry state from bar to bar (the SMC's open zones and liquidity pools) and
cannot be written as array operations; as Python loops they were most of the cost of a
window's tree features, which the live service computes for every symbol at every bar.
Compiled, they cost microseconds. Functions are compiled at their first call (not at
import) and the machine code is cached next to the module (or in ``NUMBA_CACHE_DIR``), so
later processes (every Serve replica) load it instead of compiling again. Where no cache
directory is writable (a read-only install with no writable home or ``NUMBA_CACHE_DIR``),
each process compiles for itself instead of failing to import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

F = TypeVar("F", bound=Callable[..., Any])


def compiled(function: F) -> F:
    """``function`` compiled in nopython mode (its Python original stays at ``.py_func``)."""
    try:
        return cast(F, numba.njit(cache=True, nogil=True)(function))
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return cast(F, numba.njit(nogil=True)(function))


@compiled
def first_extreme(values: np.ndarray, n: int, largest: bool) -> float:
    """The largest (``largest``) or smallest of ``values[:n]``, NaN when ``n`` is 0: the edge
    of a set of open levels kept in the first ``n`` slots of an array (in compiled code)."""
    out: float = np.nan
    for k in range(n):
        if k == 0 or (values[k] > out if largest else values[k] < out):
            out = values[k]
    return out
