"""Certified, not hoped: a symbol's trades are taken only once the rule's own past trades,
after costs, have a mean net return certifiably above zero.

Evidence: the shadow book's closed round trips (the shadow book takes every trade the
rule proposes; one position per symbol at a time, so a symbol's trades never overlap),
each one's net return after fees and slippage: every symbol's together (``scope:
pooled``, the default: the rule's record, one certificate for all) or each symbol's own
(``scope: symbol``). Test: one-sided, ``H0: mean <= 0``, by a
moving-block bootstrap of the trades in the order they closed (blocks of ``n ** (1/3)``
keep any serial dependence between neighbouring trades): resample the centred returns,
``p = (1 + #{resampled mean >= observed mean}) / (draws + 1)``.

Looks: the test runs when the trade count reaches ``min_trades * 2 ** (k - 1)``
(``k = 1, 2, ...``) at level ``alpha_k = delta / (K + 1)`` for the first ``K = looks``
(early looks have little power, so they get no more than later ones) and
``delta / (K + 1) * 2 ** (K - k)`` after; ``sum alpha_k = delta``, so under no edge a
certificate is passed at any time with probability at most ``delta`` (up to the
bootstrap's approximation), however long the book runs. The verdict of a look
stands until the next one, which may withdraw it. A look's draws depend only on the
seed, the evidence's key and the trade count, so a replay and the live book agree exactly.
A p-value is at least ``1 / (draws + 1)``: ``draws`` must exceed ``1 / alpha_k`` for look
``k`` to be able to pass (the defaults: 4,000 draws, levels 0.0045 up to 15,360 trades).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from models.errors import TradingError
from models.trading.config import CertificateSettings


def block_length(n: int) -> int:
    """Moving-block length for ``n`` observations: ``round(n ** (1/3))``, at least 1."""
    root: float = float(n) ** (1.0 / 3.0)
    return max(1, round(root))


def bootstrap_pvalue(values: np.ndarray, draws: int, rng: np.random.Generator) -> float:
    """One-sided moving-block bootstrap p-value of ``H0: mean <= 0`` (module docstring);
    1.0 for fewer than 2 values."""
    x = np.asarray(values, float)
    n = x.size
    if n < 2:
        return 1.0
    block = block_length(n)
    blocks = math.ceil(n / block)
    starts = rng.integers(0, n - block + 1, size=(draws, blocks))
    index = (starts[:, :, None] + np.arange(block)).reshape(draws, -1)[:, :n]
    observed = float(np.mean(x))
    centred = x - observed
    means = centred[index].mean(axis=1)
    return float((1 + np.count_nonzero(means >= observed)) / (draws + 1))


def look_alpha(k: int, delta: float, looks: int) -> float:
    """Level of look ``k`` (1-based) when ``looks`` share ``delta`` (module docstring)."""
    share = delta / (looks + 1)
    return share if k <= looks else share * 2.0 ** (looks - k)


@dataclass
class Look:
    """The newest look of one symbol."""

    trades: int
    mean_bps: float
    p_value: float
    alpha: float
    passed: bool


ALL = "*"
"""The key of the pooled evidence (``scope: pooled``)."""


class Certificate:
    """Evidence from the shadow book and the verdict of its newest look, per key (every
    symbol under :data:`ALL`, or each symbol under its name)."""

    def __init__(self, settings: CertificateSettings) -> None:
        self.settings = settings
        self._returns: dict[str, list[float]] = {}
        self._looks: dict[str, list[Look]] = {}

    def key(self, symbol: str) -> str:
        """Whose evidence certifies ``symbol``."""
        return symbol if self.settings.scope == "symbol" else ALL

    def passed(self, symbol: str) -> bool:
        looks = self._looks.get(self.key(symbol))
        return looks[-1].passed if looks else False

    def trades(self, symbol: str) -> int:
        return len(self._returns.get(self.key(symbol), ()))

    def next_look(self, symbol: str) -> int:
        """Trade count at which the evidence of ``symbol`` is tested next."""
        return int(self.settings.min_trades * 2 ** len(self._looks.get(self.key(symbol), ())))

    def add(self, symbol: str, net_return_bps: float) -> Look | None:
        """One closed shadow trade of ``symbol``; the look it triggered, if any."""
        if not math.isfinite(net_return_bps):
            raise TradingError(f"net return of a {symbol} trade: not finite")
        key = self.key(symbol)
        returns = self._returns.setdefault(key, [])
        returns.append(float(net_return_bps))
        if len(returns) < self.next_look(symbol):
            return None
        looks = self._looks.setdefault(key, [])
        alpha = look_alpha(len(looks) + 1, self.settings.delta, self.settings.looks)
        rng = np.random.default_rng([self.settings.seed, zlib.crc32(key.encode()), len(returns)])
        p = bootstrap_pvalue(np.asarray(returns), self.settings.draws, rng)
        look = Look(len(returns), float(np.mean(returns)), p, alpha, p < alpha)
        looks.append(look)
        return look

    def status(self, symbol: str) -> dict[str, Any]:
        """What ``/v1/portfolio`` shows of the certificate ``symbol`` trades under."""
        key = self.key(symbol)
        looks = self._looks.get(key, [])
        returns = self._returns.get(key, [])
        return {
            "scope": self.settings.scope,
            "certified": self.passed(symbol),
            "trades": len(returns),
            "mean_net_bps": float(np.mean(returns)) if returns else None,
            "next_look_at": self.next_look(symbol),
            "last_look": asdict(looks[-1]) if looks else None,
        }

    # state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "returns": {s: list(v) for s, v in sorted(self._returns.items())},
            "looks": {s: [asdict(x) for x in v] for s, v in sorted(self._looks.items())},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        try:
            returns = {str(s): [float(x) for x in v] for s, v in state["returns"].items()}
            looks = {str(s): [Look(**x) for x in v] for s, v in state["looks"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise TradingError(f"certificate state: malformed ({exc})") from None
        self._returns, self._looks = returns, looks
