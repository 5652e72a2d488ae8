"""Features computed once per (symbol, bar): a bounded cache shared by a process's callers.

The tree features of a window's newest bar are what the ``lgbm`` member reads. Computed from
the window alone, they depend on every bar of it (the recursive smoothers and the SMC state
start where the window starts), so the key is the window's content, not only its symbol and
newest bar: two requests for the same symbol and bar share the features exactly when they
carry the same candles (the feed, ``/enhanced/predict`` and repeated requests do; a client
sending other candles for that bar gets its own). The leader's features at a bar are keyed by
the leader's candles, so every symbol's window at that bar shares them.

Why no incremental update: the newest bar's features of the window ``[t - 719, t]`` are not
a function of the previous window ``[t - 720, t - 1]``'s state: the EMA and Wilder seeds, the
SMC swings, zones and trend, and the regime's trailing ranks all restart at the window's first
bar, which moves with every bar. An update from the previous bar's state would give the
features of the whole stored history instead, different numbers from what a window gives
(and from what the model is served today), so the cache stores what the window gives.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import polars as pl

from models.data.times import epoch_us_array
from models.errors import ConfigError

FEATURE_SET_VERSION = "tree-1"
"""Bump when any tree feature's definition changes: cached values of the old set never match."""

DEFAULT_ENTRIES = 4096
"""Entries the process-wide cache keeps (a newest-bar row is 84 floats: about 3 MB)."""

V = TypeVar("V")


@dataclass(frozen=True)
class FeatureKey:
    """What a cached value is a function of: which features (``part``), the symbol, its
    newest bar (open time, epoch microseconds), the feature set's version and a digest of the
    columns it read."""

    part: str
    symbol: str
    bar_us: int
    version: str
    digest: bytes
    leader: FeatureKey | None = None
    """The key of the leader's candles the value also read (None: none)."""


def window_key(
    part: str,
    symbol: str,
    window: pl.DataFrame,
    columns: Sequence[str],
    version: str = FEATURE_SET_VERSION,
) -> FeatureKey:
    """The key of ``window``'s newest-bar ``part`` features (``"tree"``: a whole row,
    ``"leader"``: the ``leader_*`` part), computed from ``columns`` (those of them the window
    has; ``timestamp`` is always read)."""
    if window.height == 0:
        raise ValueError("an empty window has no newest bar")
    stamps = epoch_us_array(window["timestamp"])
    digest = hashlib.sha256()  # collision-resistant (a client picks the candles), and the
    # fastest such hash here: CPUs with SHA extensions hash a 720-bar window in ~0.1 ms
    digest.update(f"{window.height}:".encode())
    digest.update(np.ascontiguousarray(stamps, dtype=np.int64).tobytes())
    present = set(window.columns)
    for name in columns:
        if name == "timestamp" or name not in present:
            continue
        series = window.get_column(name)
        digest.update(f"{name}:{series.dtype}".encode())  # a text close is not a number
        if series.dtype.is_numeric():  # a Float64 column is hashed as it is: no cast, no copy
            floats = series if series.dtype == pl.Float64 else series.cast(pl.Float64)
            digest.update(np.ascontiguousarray(floats.to_numpy(), dtype=np.float64).data)
        else:  # whatever it holds: the features will refuse it, never from the cache
            digest.update(repr(series.to_list()).encode())
    return FeatureKey(part, symbol, int(stamps[-1]), version, digest.digest()[:16])


class FeatureCache(Generic[V]):
    """A least-recently-used map of at most ``max_entries`` values, safe across threads.

    ``get_or_compute`` computes outside the lock (two threads missing the same key both
    compute; both results are equal, the later one stays)."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigError(f"max_entries: must be an integer >= 1, got {max_entries!r}")
        self.max_entries = max_entries
        self._values: OrderedDict[FeatureKey, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: FeatureKey) -> V | None:
        with self._lock:
            found = self._values.get(key)
            if found is not None:
                self._values.move_to_end(key)
                self.hits += 1
            return found

    def put(self, key: FeatureKey, value: V) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.max_entries:
                self._values.popitem(last=False)

    def get_or_compute(self, key: FeatureKey, compute: Callable[[], V]) -> V:
        found = self.get(key)
        if found is not None:
            return found
        value = compute()
        with self._lock:
            self.misses += 1
        self.put(key, value)
        return value

    def items(self) -> list[tuple[FeatureKey, V]]:
        """A snapshot of the entries, least recently used first."""
        with self._lock:
            return list(self._values.items())

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self.hits = self.misses = 0
