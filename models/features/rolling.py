"""Causal rolling-window and recursive-smoothing kernels behind the indicators.

Every kernel fixes the order of its floating-point operations per output row (a window's
values are added oldest first; recursions run sample by sample), so computing on the first
``k`` bars gives bit-for-bit the first ``k`` values of computing on more bars. Library sums
(BLAS dot products, numpy's pairwise reductions) may pick a different order for a different
array length, which would break prefix replay. The kernels are compiled loops
(:mod:`models.compiled`): on a live 720-bar window numpy's per-call overhead, not the
arithmetic, was most of their cost.
"""

from __future__ import annotations

import numpy as np

from models.compiled import compiled
from models.errors import ConfigError, DataValidationError

__all__ = [
    "as_series",
    "check_period",
    "first_valid",
    "linear_recursion",
    "nan_array",
    "rolling_max",
    "rolling_min",
    "rolling_std",
    "rolling_sum",
    "seed_sum",
]


def nan_array(size: int) -> np.ndarray:
    """A float64 array of ``size`` NaNs (the warm-up placeholder)."""
    return np.full(size, np.nan, dtype=np.float64)


def as_series(x: object, name: str) -> np.ndarray:
    """``x`` as a contiguous 1-D float64 array; a clear error names ``name`` otherwise."""
    try:
        arr = np.ascontiguousarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"cannot be read as float64 ({exc})", column=name) from None
    if arr.ndim != 1:
        raise DataValidationError(f"must be 1-D, got shape {arr.shape}", column=name)
    return arr


def check_period(n: object, name: str = "n") -> int:
    """``n`` as an int >= 1, else :class:`ConfigError` naming the parameter."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ConfigError(f"{name} must be an integer >= 1, got {n!r}")
    return int(n)


def first_valid(*arrays: np.ndarray) -> int:
    """Index of the first row where every array is finite (``len`` if none).

    Indicators start after leading NaNs (as TA-Lib's wrapper does), so they can be chained
    on each other's warm-up-padded outputs.
    """
    size = len(arrays[0])
    for arr in arrays[1:]:
        if len(arr) != size:
            raise DataValidationError(f"length {len(arr)} differs from the first input's {size}")
    if size and all(np.isfinite(arr[0]) for arr in arrays):
        return 0
    ok = np.isfinite(arrays[0])
    for arr in arrays[1:]:
        ok &= np.isfinite(arr)
    return int(np.argmax(ok)) if ok.any() else size


def rolling_sum(x: np.ndarray, n: int) -> np.ndarray:
    """Trailing sum of ``n`` values (NaN for the first ``n - 1`` rows), summed oldest first."""
    return _rolling_sums(np.ascontiguousarray(x, dtype=np.float64), n)


@compiled
def _window_totals(x: np.ndarray, n: int) -> np.ndarray:
    """``x[i - n + 1] + ... + x[i]`` for every ``i >= n - 1``, each added oldest first (the
    one summing order). The loop runs over rows inside the loop over window positions, so
    rows are summed side by side (SIMD) while each row keeps its own order."""
    rows = x.size - n + 1
    totals: np.ndarray = x[:rows].copy()
    for j in range(1, n):
        for r in range(rows):
            totals[r] += x[r + j]
    return totals


@compiled
def _rolling_sums(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(x.size, np.nan)
    if x.size >= n:
        out[n - 1 :] = _window_totals(x, n)
    return out


@compiled
def _rolling_extremes(x: np.ndarray, n: int, largest: bool) -> np.ndarray:
    """Trailing maximum (``largest``) or minimum; a window holding a NaN gives NaN.

    One pass with a monotonic queue of candidate rows (each row enters and leaves it once),
    not a scan of every window: the same values, since an extreme is one of the inputs.
    """
    out = np.full(x.size, np.nan)
    queue = np.empty(x.size, dtype=np.int64)  # rows whose values fall (rise) front to back
    head = tail = 0
    last_nan = -1
    for i in range(x.size):
        value = x[i]
        if np.isnan(value):
            last_nan = i
            head = tail = 0
        else:
            while tail > head and (
                x[queue[tail - 1]] < value if largest else x[queue[tail - 1]] > value
            ):
                tail -= 1  # never the extreme again while ``value`` is in the window
            queue[tail] = i
            tail += 1
        lo = i - n + 1
        if lo < 0 or last_nan >= lo:
            continue
        while queue[head] < lo:
            head += 1
        out[i] = x[queue[head]]
    return out


def rolling_max(x: np.ndarray, n: int) -> np.ndarray:
    """Trailing maximum of ``n`` values (NaN for the first ``n - 1`` rows)."""
    return _rolling_extremes(np.ascontiguousarray(x, dtype=np.float64), n, True)


def rolling_min(x: np.ndarray, n: int) -> np.ndarray:
    """Trailing minimum of ``n`` values (NaN for the first ``n - 1`` rows)."""
    return _rolling_extremes(np.ascontiguousarray(x, dtype=np.float64), n, False)


def rolling_std(x: np.ndarray, n: int) -> np.ndarray:
    """Trailing population standard deviation (ddof=0) of ``n`` values.

    Two passes (mean, then squared deviations from it) rather than ``E[x^2] - E[x]^2``:
    on prices near 60,000 the latter cancels away most significant digits of a quiet
    window's variance.
    """
    return _rolling_stds(np.ascontiguousarray(x, dtype=np.float64), n)


@compiled
def _rolling_stds(x: np.ndarray, n: int) -> np.ndarray:
    out = np.full(x.size, np.nan)
    if x.size < n:
        return out
    rows = x.size - n + 1
    mean = _window_totals(x, n) / n
    squares = np.zeros(rows)
    for j in range(n):  # rows side by side again, each row's deviations oldest first
        for r in range(rows):
            deviation = x[r + j] - mean[r]
            squares[r] += deviation * deviation
    out[n - 1 :] = np.sqrt(squares / n)
    return out


def seed_sum(x: np.ndarray) -> float:
    """Sum of a short seed window, strictly left to right (TA-Lib's order)."""
    total = 0.0
    for v in x.tolist():
        total += v
    return total


def linear_recursion(
    x: np.ndarray, start: int, seed: float, decay: float, gain: float
) -> np.ndarray:
    """``y[start] = seed``, ``y[t] = decay * y[t-1] + gain * x[t]`` after; NaN before ``start``.

    EMA (``decay = 1 - k``, ``gain = k``), Wilder's average (``1 - 1/n``, ``1/n``) and Wilder's
    running sum (``1 - 1/n``, ``1``) are all this one first-order filter with different seeds.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    return _recursion(x, start, float(seed), float(decay), float(gain))


@compiled
def _recursion(x: np.ndarray, start: int, seed: float, decay: float, gain: float) -> np.ndarray:
    out = np.full(x.size, np.nan)
    if start >= x.size:
        return out
    out[start] = previous = seed
    for t in range(start + 1, x.size):
        previous = gain * x[t] + decay * previous
        out[t] = previous
    return out
