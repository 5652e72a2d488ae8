"""Random signals with the same exposure: the null distribution a real edge must stand out of.

A strategy's per-bar positions (or, for accuracy, its predicted classes) form *runs*:
maximal stretches of one value. Each null draw puts the strategy's own runs in a random
order. A draw is long, short and flat on exactly as many bars as the strategy (the same
exposure and class mix) and holds for the same stretches (so nearly the same turnover and
costs: two runs of one side that become neighbours merge), but its timing is random.
Shuffling single bars instead would make a draw trade far more often than the strategy and
lose to it on costs alone, which would say nothing about timing.

The **percentile** of the strategy in the null is ``100 * (share of draws below it + half
the share equal to it)``: about 50 is what luck gives; above 95 is a timing edge unlikely to
be chance (one-sided 5 %). Draws are seeded by (seed, symbol, strategy) (:func:`draw_rng`),
so a report is reproducible.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from models.evaluation.strategy import BARS_PER_YEAR

DEFAULT_DRAWS = 200


def draw_rng(seed: int, *names: str) -> np.random.Generator:
    """A generator determined by ``seed`` and ``names`` (crc32: stable across runs)."""
    return np.random.default_rng([seed, *(zlib.crc32(n.encode()) for n in names)])


def run_shuffles(values: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """(draws, n) indices: ``values[idx[d]]`` is ``values`` with its runs in random order."""
    values = np.asarray(values)
    n = values.size
    if n == 0:
        return np.zeros((draws, 0), dtype=np.int64)
    starts = np.flatnonzero(np.concatenate([[True], values[1:] != values[:-1]]))
    lengths = np.diff(np.append(starts, n))
    order = np.argsort(rng.random((draws, starts.size)), axis=1)
    new_lengths = lengths[order]
    new_starts = np.cumsum(new_lengths, axis=1) - new_lengths
    offsets = starts[order] - new_starts
    flat = np.repeat(offsets.ravel(), new_lengths.ravel())
    return flat.reshape(draws, n) + np.arange(n)[None, :]


def shuffled_parts(
    position: np.ndarray, next_return: np.ndarray, perms: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(gross returns, position changes), each (draws, n), of the shuffled positions.

    The net return at a cost is ``gross - cost_bps * 1e-4 * changes`` (as the strategy's).
    """
    pos = np.asarray(position, float)[perms]
    changes = np.abs(np.diff(pos, axis=1, prepend=0.0))
    gross = pos * np.nan_to_num(np.asarray(next_return, float), nan=0.0)[None, :]
    return gross, changes


def shuffled_returns(
    position: np.ndarray, next_return: np.ndarray, cost_bps: float, perms: np.ndarray
) -> np.ndarray:
    """Per-bar net returns (draws, n) of the shuffled positions (same rule as the strategy)."""
    gross, changes = shuffled_parts(position, next_return, perms)
    return gross - cost_bps * 1e-4 * changes


def sharpe_rows(returns: np.ndarray, periods_per_year: int = BARS_PER_YEAR) -> np.ndarray:
    """Annualised Sharpe of each row of ``returns`` (NaN for a constant row)."""
    std = returns.std(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = returns.mean(axis=1) / std * math.sqrt(periods_per_year)
    return np.where(std > 1e-15, out, np.nan)


def shuffled_hits(direction: np.ndarray, label: np.ndarray, perms: np.ndarray) -> np.ndarray:
    """Correct class calls (draws,) of shuffled directions against fixed labels."""
    shuffled = np.asarray(direction)[perms] + 1
    hits: np.ndarray = np.sum(shuffled == np.asarray(label)[None, :], axis=1)
    return hits


def percentile(observed: float, null: np.ndarray, rel_tol: float = 1e-9) -> float:
    """Where ``observed`` falls in ``null`` (0..100, ties count half); NaN if undefined.

    Values within ``rel_tol`` (relative) of ``observed`` are ties: the same positions summed
    in another order differ in the last bits.
    """
    null = np.asarray(null, float)
    null = null[np.isfinite(null)]
    if null.size == 0 or not math.isfinite(observed):
        return math.nan
    equal = np.abs(null - observed) <= rel_tol * max(1.0, abs(observed))
    below = (null < observed) & ~equal
    return float(100.0 * (np.mean(below) + 0.5 * np.mean(equal)))
