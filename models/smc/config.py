"""Settings of the Smart Money Concepts analyzer.

A frozen dataclass (not pydantic) so a bad value raises our own :class:`ConfigError`
naming the field, the same way every other bad input in the project fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from models.errors import ConfigError


@dataclass(frozen=True)
class SmcConfig:
    """Knobs of :func:`models.smc.analyzer.analyze_smc`.

    ``swing_length`` N: a pivot needs N bars on each side, so it is known N bars late.
    ``atr_length``: the ATR that scales tolerances (equal levels, minimum gap size).
    ``equal_tolerance_atr``: two swing levels are "equal" within this many ATRs.
    ``fvg_min_size_atr``: gaps smaller than this many ATRs are ignored (0 keeps all).
    ``ob_search_bars``: how far back from the start of the impulsive leg the opposite-colour
    candle is searched for. ``max_lookback``: bars a level / block / gap stays tracked
    (bounds state and keeps ancient levels from steering the signal).
    ``max_active``: at most this many blocks, gaps and liquidity levels per side.
    """

    swing_length: int = 5
    atr_length: int = 14
    equal_tolerance_atr: float = 0.1
    fvg_min_size_atr: float = 0.0
    ob_search_bars: int = 10
    max_lookback: int = 500
    max_active: int = 20

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"SmcConfig.{f.name}: must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ConfigError(f"SmcConfig.{f.name}: must be finite, got {value!r}")
            if f.type in ("int", int) and not isinstance(value, int):
                raise ConfigError(f"SmcConfig.{f.name}: must be an integer, got {value!r}")
        self._check_min("swing_length", 1)
        self._check_min("atr_length", 1)
        self._check_min("equal_tolerance_atr", 0)
        self._check_min("fvg_min_size_atr", 0)
        self._check_min("ob_search_bars", 1)
        self._check_min("max_lookback", 1)
        self._check_min("max_active", 1)

    def _check_min(self, name: str, low: float) -> None:
        value = getattr(self, name)
        if value < low:
            raise ConfigError(f"SmcConfig.{name}: must be >= {low}, got {value!r}")
