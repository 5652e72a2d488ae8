"""Retry delays: exponential with full jitter, capped, reset by a success.

Full jitter (a uniform draw up to the exponential step) spreads the retries of many
feeds after a shared outage so they do not hit the exchange in lockstep. A delay the
exchange asked for (``Retry-After``) is honoured as given, capped by ``max_retry_after``.
"""

from __future__ import annotations

import random


class Backoff:
    """``next(retry_after)`` -> seconds to wait before the next attempt."""

    def __init__(
        self,
        base_s: float,
        max_s: float,
        *,
        max_retry_after_s: float = 600.0,
        rng: random.Random | None = None,
    ) -> None:
        self.base_s, self.max_s, self.max_retry_after_s = base_s, max_s, max_retry_after_s
        self.rng = rng or random.Random()
        self.failures = 0

    def next(self, retry_after: float | None = None) -> float:
        """The wait after one more failure (the exchange's ``retry_after`` when given)."""
        self.failures += 1
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s)
        step = min(self.max_s, self.base_s * 2 ** min(self.failures - 1, 30))
        return max(self.base_s / 10, self.rng.uniform(0, step))

    def reset(self) -> None:
        self.failures = 0
