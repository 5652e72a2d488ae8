"""Chronological train / validation / test split with an embargo between the parts.

Samples are indexed by the row of their last input bar ``t``. A sample touches the bars
``t - seq_len + 1 - lookback`` (the first input row and the feature look-back behind it)
through ``t + horizon`` (its label). Between the last sample of one part and the first of the
next, at least ``embargo = horizon + lookback + seq_len - 1`` bars end no sample, so no bar
that any training sample touches (inputs or label) is touched by a validation sample, and
likewise validation / test. That is more than the ``horizon + lookback`` minimum: the
window length counts too, because the first validation window reaches ``seq_len - 1`` bars
back before its own end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.errors import ConfigError, InsufficientDataError


def required_embargo(horizon: int, lookback: int, seq_len: int) -> int:
    """Bars that must separate two parts so no bar is shared (see the module docstring)."""
    return horizon + lookback + seq_len - 1


@dataclass(frozen=True)
class Split:
    """Sample end rows of each part (sorted, int64) and the embargo used between them."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    embargo: int


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{name}: must be in [0, 1), got {value!r}")


def chronological_split(
    candidates: np.ndarray, *, val_frac: float, test_frac: float, embargo: int
) -> Split:
    """Split sorted sample end rows into train / val / test, oldest to newest.

    The test and validation parts take ``test_frac`` and ``val_frac`` of the candidates
    from the end; training takes what is left before the embargo. A fraction of 0 leaves
    that part empty (no embargo is spent on it).
    """
    _check_fraction("val_frac", val_frac)
    _check_fraction("test_frac", test_frac)
    if val_frac + test_frac >= 1.0:
        raise ConfigError(f"val_frac + test_frac: must be < 1, got {val_frac + test_frac}")
    if embargo < 0:
        raise ConfigError(f"embargo: must be >= 0, got {embargo}")
    ends = np.asarray(candidates, dtype=np.int64)
    n = ends.shape[0]
    n_test = round(test_frac * n)
    n_val = round(val_frac * n)
    test = ends[n - n_test :] if n_test else ends[:0]
    rest = ends[: n - n_test] if n_test else ends
    if n_test:
        rest = rest[rest < test[0] - embargo]
    val = rest[len(rest) - n_val :] if n_val else rest[:0]
    train = rest[: len(rest) - n_val] if n_val else rest
    if n_val and len(val):
        train = train[train < val[0] - embargo]
    if len(train) == 0 or (n_val and len(val) < n_val) or (n_test and len(test) == 0):
        raise InsufficientDataError(
            n_test + n_val + 2 * embargo + 1, n, "sample candidates for a train/val/test split"
        )
    return Split(train=train, val=val, test=test, embargo=embargo)
