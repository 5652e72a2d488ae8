"""Synthetic answer keys (:class:`Outcomes`) for tests of the evaluation's mechanics."""

from __future__ import annotations

import numpy as np

from models.evaluation.outcomes import Outcomes


def answer_key(
    timestamps: np.ndarray,
    label: np.ndarray | None = None,
    forward_return: np.ndarray | None = None,
) -> Outcomes:
    """Outcomes at ``timestamps``, all in one regime; what is not given is undefined (NaN)."""
    n = len(timestamps)
    nan = np.full(n, np.nan)
    return Outcomes(
        rows=np.arange(n),
        timestamps=timestamps,
        label=nan if label is None else label,
        forward_return=nan if forward_return is None else forward_return,
        next_return=nan,
        band=nan,
        resolve_row=np.full(n, -1),
        realized_return=nan,
        regime=np.full(n, "ranging"),
    )
