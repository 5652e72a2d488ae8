"""The label vocabulary every layer shares: the classes, their ids and the default horizon.

Ground floor (imports nothing of ours): predictors, labels, the ensemble, training and the
evaluation all speak it, so it lives below all of them.
"""

from __future__ import annotations

CLASSES: tuple[str, str, str] = ("down", "flat", "up")
"""Class order of every probability vector in the project."""

DOWN, FLAT, UP = 0, 1, 2
"""Class ids, in the order of :data:`CLASSES`."""

DEFAULT_HORIZON = 4
"""Default label horizon in bars (the forward log return over this many bars)."""
