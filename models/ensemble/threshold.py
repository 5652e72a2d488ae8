"""The actionable confidence threshold, learned from how past signals actually turned out.

Per symbol it keeps the last ``window`` resolved *candidate* signals (a direction, an
allowed regime and enough models: everything actionable needs except the threshold) as
``(confidence, win)``. The threshold is the lowest level of the bounded grid
``min_threshold, min_threshold + step, ..., max_threshold`` such that the resolved signals
with confidence >= that level number at least ``min_signals`` and were right at least
``target_precision`` of the time. Then:

- fewer than ``min_signals`` resolved signals in the window: the configured default;
- enough signals but no level reaches the target: ``max_threshold`` (signals have been
  losing, so only the most confident may act);
- adaptation disabled: always the configured default.

Only realized wins move it; the signals' own scores only decide which level they fall in.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

from models.ensemble.original_config import AdaptiveThresholdConfig
from models.errors import EnsembleInputError


class AdaptiveThreshold:
    """Per-symbol threshold chosen from the realized precision of recent signals."""

    def __init__(self, config: AdaptiveThresholdConfig, default: float) -> None:
        self.config = config
        self.default = default
        self._grid = config.grid()
        self._history: dict[str, deque[tuple[float, bool]]] = {}
        self._current: dict[str, float] = {}

    def current(self, symbol: str) -> float:
        """The threshold a new signal of ``symbol`` must reach to be actionable."""
        return self._current.get(symbol, self.default)

    def history(self, symbol: str) -> list[tuple[float, bool]]:
        """The resolved (confidence, win) pairs in the window, oldest first."""
        return list(self._history.get(symbol, ()))

    def update(self, symbol: str, confidence: float, win: bool) -> float:
        """Add one resolved candidate signal and return the new threshold."""
        hist = self._history.setdefault(symbol, deque(maxlen=self.config.window))
        hist.append((float(confidence), bool(win)))
        self._current[symbol] = self._search(hist)
        return self._current[symbol]

    def precision_at(self, symbol: str, level: float) -> tuple[int, float | None]:
        """(count, precision) of the resolved signals with confidence >= ``level``."""
        above = [win for conf, win in self._history.get(symbol, ()) if conf >= level]
        return len(above), (sum(above) / len(above) if above else None)

    def _search(self, hist: deque[tuple[float, bool]]) -> float:
        cfg = self.config
        if not cfg.enabled or len(hist) < cfg.min_signals:
            return self.default
        for level in self._grid:
            above = [win for conf, win in hist if conf >= level]
            if len(above) >= cfg.min_signals and sum(above) / len(above) >= cfg.target_precision:
                return level
        return cfg.max_threshold

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable windows (the threshold is recomputed from them on load)."""
        return {s: [[c, w] for c, w in hist] for s, hist in self._history.items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace all windows with ``state`` (keeps the newest ``window`` entries)."""
        if not isinstance(state, Mapping):
            raise EnsembleInputError(
                f"ensemble state thresholds: expected a mapping, got {state!r}"
            )
        history: dict[str, deque[tuple[float, bool]]] = {}
        for symbol, pairs in state.items():
            if not isinstance(pairs, list | tuple):
                raise EnsembleInputError(f"ensemble state thresholds.{symbol}: expected a list")
            hist: deque[tuple[float, bool]] = deque(maxlen=self.config.window)
            for i, pair in enumerate(pairs):
                hist.append(_pair(pair, f"thresholds.{symbol}[{i}]"))
            history[symbol] = hist
        self._history = history
        self._current = {s: self._search(h) for s, h in history.items()}


def _pair(pair: Any, where: str) -> tuple[float, bool]:
    ok = isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[1], bool)
    conf = float(pair[0]) if ok and isinstance(pair[0], int | float) else math.nan
    if not 0.0 <= conf <= 1.0:
        raise EnsembleInputError(
            f"ensemble state {where}: expected [confidence in [0, 1], win bool], got {pair!r}"
        )
    return conf, pair[1]
