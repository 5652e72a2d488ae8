"""Causal market regimes: seven rule-based scores per bar, the best one wins.

The rules and their thresholds are documented in :mod:`models.regime.detector`. Names load
their module on first use (:mod:`models.lazy`): the ensemble needs only ``state`` and must
not pay for the detector's indicator stack.
"""

from models.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "REGIMES": "state",
    "RegimeState": "state",
    "RegimeConfig": "config",
    "RegimeDetector": "detector",
    "detect_regimes": "detector",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
