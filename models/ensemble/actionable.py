"""The actionable rule: a BUY/SELL may be acted on only at a confidence level whose past
signals were certifiably right about the sign often enough to pay their costs.

Per symbol and for every level ``L`` of a grid, the rule counts resolved directional
signals with confidence >= ``L`` and how many got the **sign** of the realized return
right. Signals ``h`` bars apart have non-overlapping outcome windows; a signal closer than
``h`` bars to the last one counted at a level is not counted there, so the counts behave
like independent trials (overlapping 4-bar outcomes would make 4 trials of one move).

Break-even: a position right with probability ``p`` on moves of mean size ``m`` earns
``(2p - 1) m`` before a round-trip cost ``c``, so it needs ``p > 1/2 + c / (2m)``; ``m``
is the mean absolute realized return of the symbol's resolved signals (equal-sized wins
and losses assumed). A level is **certified** when it has at least ``min_signals`` counted
signals and the one-sided Clopper-Pearson lower bound of its hit rate, at level
``delta / G`` for the ``G`` levels of the grid (Bonferroni: the chance that any level of
a symbol is certified wrongly is at most ``delta`` at each look), is above break-even.
The threshold is the lowest certified level; with none, nothing is actionable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scipy.special import betaincinv

from models.ensemble.learning_config import ActionableConfig
from models.errors import EnsembleInputError


def clopper_pearson_lower(hits: int, n: int, alpha: float) -> float:
    """One-sided lower ``1 - alpha`` confidence bound of a binomial rate (0 when no hit)."""
    if n <= 0 or hits <= 0:
        return 0.0
    return float(betaincinv(hits, n - hits + 1, alpha))


@dataclass
class LevelCounts:
    """Non-overlapping resolved signals at or above one level, and their sign hits."""

    n: int = 0
    hits: int = 0
    last_bar: int | None = None


class ActionableRule:
    """Per-symbol evidence by confidence level and the certified threshold it implies."""

    def __init__(self, config: ActionableConfig, spacing: int) -> None:
        self.config = config
        self.spacing = spacing
        self.levels = config.levels()
        self._alpha = config.delta / len(self.levels)
        self._counts: dict[str, list[LevelCounts]] = {}
        self._moves: dict[str, list[float]] = {}  # [sum of |return|, count]
        self._threshold: dict[str, float | None] = {}

    def threshold(self, symbol: str) -> float | None:
        """The lowest certified level of ``symbol`` (None: nothing is certified)."""
        return self._threshold.get(symbol)

    def update(
        self, symbol: str, bar: int, direction: int, confidence: float, realized_return: float
    ) -> None:
        """Count one resolved directional signal (``direction`` is -1 or +1)."""
        hit = direction * realized_return > 0
        moves = self._moves.setdefault(symbol, [0.0, 0.0])
        moves[0] += abs(realized_return)
        moves[1] += 1.0
        counts = self._levels(symbol)
        for level, c in zip(self.levels, counts, strict=True):
            if confidence + 1e-12 < level:
                break
            if c.last_bar is None or bar >= c.last_bar + self.spacing:
                c.n += 1
                c.hits += int(hit)
                c.last_bar = bar
        self._threshold[symbol] = self._search(symbol)

    def break_even(self, symbol: str) -> float | None:
        """The sign hit rate a signal of ``symbol`` needs to pay its round-trip cost."""
        total, count = self._moves.get(symbol, (0.0, 0.0))
        if count <= 0 or total <= 0:
            return None
        cost = self.config.round_trip_cost_bps / 10_000.0
        return min(1.0, 0.5 + cost / (2.0 * total / count))

    def evidence(self, symbol: str) -> list[dict[str, Any]]:
        """Per level: counted signals, hits, hit rate and its lower bound, certified."""
        be = self.break_even(symbol)
        out = []
        for level, c in zip(self.levels, self._levels(symbol), strict=True):
            lower = clopper_pearson_lower(c.hits, c.n, self._alpha)
            out.append(
                {
                    "level": level,
                    "signals": c.n,
                    "hits": c.hits,
                    "hit_rate": c.hits / c.n if c.n else None,
                    "lower_bound": lower,
                    "certified": self._certified(c, lower, be),
                }
            )
        return out

    def summary(self, symbol: str) -> dict[str, Any]:
        """The threshold and its evidence (what ``/v1/performance`` shows)."""
        level = self.threshold(symbol)
        rows = self.evidence(symbol)
        chosen = next((r for r in rows if r["level"] == level), None)
        return {
            "certified": level is not None,
            "level": level,
            "signals": chosen["signals"] if chosen else None,
            "hits": chosen["hits"] if chosen else None,
            "lower_bound": chosen["lower_bound"] if chosen else None,
            "break_even": self.break_even(symbol),
            "round_trip_cost_bps": self.config.round_trip_cost_bps,
            "delta": self.config.delta,
            "min_signals": self.config.min_signals,
            "non_overlap_bars": self.spacing,
            "levels": rows,
        }

    def _certified(self, c: LevelCounts, lower: float, break_even: float | None) -> bool:
        return break_even is not None and c.n >= self.config.min_signals and lower > break_even

    def _search(self, symbol: str) -> float | None:
        be = self.break_even(symbol)
        for level, c in zip(self.levels, self._levels(symbol), strict=True):
            if self._certified(c, clopper_pearson_lower(c.hits, c.n, self._alpha), be):
                return level
        return None

    def _levels(self, symbol: str) -> list[LevelCounts]:
        found = self._counts.get(symbol)
        if found is None:
            found = [LevelCounts() for _ in self.levels]
            self._counts[symbol] = found
        return found

    # state -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "levels": list(self.levels),
            "counts": {
                s: [[c.n, c.hits, c.last_bar] for c in cs] for s, cs in self._counts.items()
            },
            "moves": {s: list(m) for s, m in self._moves.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if not isinstance(state, Mapping) or list(state.get("levels", ())) != list(self.levels):
            got = state.get("levels") if isinstance(state, Mapping) else state
            raise EnsembleInputError(
                f"ensemble state actionable.levels: saved {got!r}, configured {list(self.levels)}"
            )
        try:
            counts = {
                str(s): [_level(row) for row in rows] for s, rows in dict(state["counts"]).items()
            }
            moves = {str(s): [float(m[0]), float(m[1])] for s, m in dict(state["moves"]).items()}
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise EnsembleInputError(f"ensemble state actionable: malformed ({exc})") from None
        if any(len(rows) != len(self.levels) for rows in counts.values()):
            raise EnsembleInputError("ensemble state actionable.counts: one row per level needed")
        self._counts, self._moves = counts, moves
        self._threshold = {s: self._search(s) for s in counts}


def _level(row: Any) -> LevelCounts:
    n, hits, last = int(row[0]), int(row[1]), row[2]
    if not 0 <= hits <= n or not (last is None or isinstance(last, int)):
        raise ValueError(f"bad level counts {row!r}")
    return LevelCounts(n, hits, last)
