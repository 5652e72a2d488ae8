"""Causal rolling-window and recursive-smoothing kernels behind the indicators.

Every kernel fixes the order of its floating-point operations per output row (window
offsets are added one after another; recursions run sample by sample in ``lfilter``), so
computing on the first ``k`` bars gives bit-for-bit the first ``k`` values of computing on
more bars. Library sums (BLAS dot products, numpy's pairwise reductions over strided views)
may pick a different order for a different array length, which would break prefix replay.
The loops below run over window offsets (``n`` iterations), never over bars.

Windows of :data:`LONG_WINDOW` bars or more (a week of hours) are summed differently, since
``n`` numpy calls per pass cost more than the arithmetic: each row's window is copied into a
C-contiguous ``(rows, n)`` block and reduced along its last axis, a pairwise sum whose order
depends on ``n`` alone (still prefix-exact, tested; within 1e-13 of the sequential sum).
Maxima and minima take any order: they read the windows in place.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import lfilter

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


BLOCK_ROWS = 1 << 14
"""Rows per block in the window loops: a block's arrays stay in cache across the ``n`` passes."""

LONG_WINDOW = 64
"""Windows at least this long are reduced as contiguous blocks, not offset by offset."""

_LONG_BLOCK_ROWS = 1 << 12
"""Rows per copied block of a long window (4,096 x 168 floats: about 5 MB)."""


def _blocks(m: int) -> range:
    return range(0, m, BLOCK_ROWS)


def _window_sum_into(acc: np.ndarray, x: np.ndarray, lo: int, n: int) -> None:
    """``acc[i] = x[lo+i] + x[lo+i+1] + ... + x[lo+i+n-1]``, added oldest first (a long
    window: as one contiguous block per row, see the module docstring)."""
    size = len(acc)
    if n >= LONG_WINDOW:
        for start in range(0, size, _LONG_BLOCK_ROWS):
            rows = min(_LONG_BLOCK_ROWS, size - start)
            block = np.ascontiguousarray(_windows(x, lo + start, rows, n))
            np.add.reduce(block, axis=1, out=acc[start : start + rows])
        return
    np.copyto(acc, x[lo : lo + size])
    for j in range(1, n):
        acc += x[lo + j : lo + j + size]


def _windows(x: np.ndarray, lo: int, rows: int, n: int) -> np.ndarray:
    """The ``rows`` windows of ``n`` values starting at ``x[lo]``, ``x[lo+1]``, ... (a view)."""
    view: np.ndarray = sliding_window_view(x[lo : lo + rows + n - 1], n)
    return view


def rolling_sum(x: np.ndarray, n: int) -> np.ndarray:
    """Trailing sum of ``n`` values (NaN for the first ``n - 1`` rows), summed oldest first."""
    out = nan_array(len(x))
    m = len(x) - n + 1
    res = out[n - 1 :]
    for lo in _blocks(max(m, 0)):
        _window_sum_into(res[lo : lo + BLOCK_ROWS], x, lo, n)
    return out


def _rolling_extreme(x: np.ndarray, n: int, op: np.ufunc) -> np.ndarray:
    out = nan_array(len(x))
    m = len(x) - n + 1
    res = out[n - 1 :]
    if n >= LONG_WINDOW and m > 0:  # any order gives the same extreme (NaN propagates)
        op.reduce(_windows(x, 0, m, n), axis=1, out=res)
        return out
    for lo in _blocks(max(m, 0)):
        acc = res[lo : lo + BLOCK_ROWS]
        size = len(acc)
        np.copyto(acc, x[lo : lo + size])
        for j in range(1, n):
            op(acc, x[lo + j : lo + j + size], out=acc)
    return out


def rolling_max(x: np.ndarray, n: int) -> np.ndarray:
    """Trailing maximum of ``n`` values (NaN for the first ``n - 1`` rows)."""
    return _rolling_extreme(x, n, np.maximum)


def rolling_min(x: np.ndarray, n: int) -> np.ndarray:
    """Trailing minimum of ``n`` values (NaN for the first ``n - 1`` rows)."""
    return _rolling_extreme(x, n, np.minimum)


def rolling_std(x: np.ndarray, n: int) -> np.ndarray:
    """Trailing population standard deviation (ddof=0) of ``n`` values.

    Two passes (mean, then squared deviations from it) rather than ``E[x^2] - E[x]^2``:
    on prices near 60,000 the latter cancels away most significant digits of a quiet
    window's variance.
    """
    out = nan_array(len(x))
    m = len(x) - n + 1
    res = out[n - 1 :]
    mean = np.empty(min(max(m, 0), BLOCK_ROWS))
    dev = np.empty_like(mean)
    for lo in _blocks(max(m, 0)):
        acc = res[lo : lo + BLOCK_ROWS]
        size = len(acc)
        mu, d = mean[:size], dev[:size]
        _window_sum_into(mu, x, lo, n)
        mu /= n
        if n >= LONG_WINDOW:
            _squared_deviations_into(acc, x, lo, n, mu)
            continue
        acc.fill(0.0)
        for j in range(n):
            np.subtract(x[lo + j : lo + j + size], mu, out=d)
            np.multiply(d, d, out=d)
            acc += d
        acc /= n
        np.sqrt(acc, out=acc)
    return out


def _squared_deviations_into(
    acc: np.ndarray, x: np.ndarray, lo: int, n: int, mu: np.ndarray
) -> None:
    """``acc[i] = sqrt(sum_j (x[lo+i+j] - mu[i])^2 / n)`` for a long window, block by block."""
    for start in range(0, len(acc), _LONG_BLOCK_ROWS):
        rows = min(_LONG_BLOCK_ROWS, len(acc) - start)
        block = _windows(x, lo + start, rows, n) - mu[start : start + rows, None]
        np.multiply(block, block, out=block)
        part = acc[start : start + rows]
        np.add.reduce(block, axis=1, out=part)
        part /= n
        np.sqrt(part, out=part)


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
    out = nan_array(len(x))
    if start >= len(x):
        return out
    out[start] = seed
    rest = x[start + 1 :]
    if rest.size:
        out[start + 1 :], _ = lfilter([gain], [1.0, -decay], rest, zi=[decay * seed])
    return out
