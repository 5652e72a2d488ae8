"""How well each expert and the ensemble did on resolved outcomes, per symbol.

Per name: cumulative log loss (the proper score the mixture minimises), outcomes, and the
sign hit rate of its directional calls (top class up or down; right when the realized
return has that sign). For the ensemble also an online reliability diagram: equal-width
bins of its confidence (top-class probability) with counts, mean confidence and accuracy,
from which the expected calibration error (ECE) follows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from models.ensemble.voting import direction_of
from models.errors import EnsembleInputError

LOSS_FLOOR = 1e-12


@dataclass
class Score:
    """Cumulative scores of one (symbol, name)."""

    log_loss: float = 0.0
    outcomes: int = 0
    calls: int = 0
    hits: int = 0

    def to_list(self) -> list[float]:
        return [self.log_loss, self.outcomes, self.calls, self.hits]

    def summary(self) -> dict[str, Any]:
        return {
            "cumulative_log_loss": self.log_loss,
            "mean_log_loss": self.log_loss / self.outcomes if self.outcomes else None,
            "outcomes": self.outcomes,
            "directional_calls": self.calls,
            "sign_hit_rate": self.hits / self.calls if self.calls else None,
        }


class Scoreboard:
    """Scores per (symbol, name) and the ensemble's reliability bins per symbol."""

    def __init__(self, bins: int) -> None:
        self.bins = bins
        self._scores: dict[str, dict[str, Score]] = {}
        self._calibration: dict[str, list[list[float]]] = {}  # [n, sum conf, sum correct]

    def score(self, symbol: str, name: str) -> Score:
        return self._scores.get(symbol, {}).get(name, Score())

    def names(self, symbol: str) -> tuple[str, ...]:
        return tuple(self._scores.get(symbol, {}))

    def record(
        self,
        symbol: str,
        name: str,
        probabilities: tuple[float, float, float],
        outcome: int,
        realized_return: float,
    ) -> None:
        s = self._scores.setdefault(symbol, {}).setdefault(name, Score())
        s.log_loss += -math.log(max(probabilities[outcome], LOSS_FLOOR))
        s.outcomes += 1
        direction = direction_of(probabilities)
        if direction != 0:
            s.calls += 1
            s.hits += int(direction * realized_return > 0)

    def record_calibration(self, symbol: str, confidence: float, correct: bool) -> None:
        rows = self._calibration.setdefault(symbol, [[0.0, 0.0, 0.0] for _ in range(self.bins)])
        row = rows[min(int(confidence * self.bins), self.bins - 1)]
        row[0] += 1
        row[1] += confidence
        row[2] += float(correct)

    def calibration(self, symbol: str) -> dict[str, Any]:
        """The reliability bins and the ECE (None before the first outcome)."""
        rows = self._calibration.get(symbol, [])
        total = sum(r[0] for r in rows)
        bins = [
            {
                "low": i / self.bins,
                "high": (i + 1) / self.bins,
                "count": int(r[0]),
                "mean_confidence": r[1] / r[0],
                "accuracy": r[2] / r[0],
            }
            for i, r in enumerate(rows)
            if r[0] > 0
        ]
        ece = (
            sum(b["count"] / total * abs(b["accuracy"] - b["mean_confidence"]) for b in bins)
            if total
            else None
        )
        return {"ece": ece, "outcomes": int(total), "bins": bins}

    def state_dict(self) -> dict[str, Any]:
        return {
            "bins": self.bins,
            "scores": {
                s: {n: sc.to_list() for n, sc in per.items()} for s, per in self._scores.items()
            },
            "calibration": self._calibration,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if not isinstance(state, Mapping) or state.get("bins") != self.bins:
            raise EnsembleInputError(
                f"ensemble state scores.bins: saved {state.get('bins') if isinstance(state, Mapping) else state!r}, "  # noqa: E501
                f"configured {self.bins}"
            )
        try:
            scores = {
                str(s): {str(n): _score(v) for n, v in dict(per).items()}
                for s, per in dict(state["scores"]).items()
            }
            calibration = {
                str(s): [[float(x) for x in row] for row in rows]
                for s, rows in dict(state["calibration"]).items()
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise EnsembleInputError(f"ensemble state scores: malformed ({exc})") from None
        if any(
            len(rows) != self.bins or any(len(r) != 3 for r in rows)
            for rows in calibration.values()
        ):
            raise EnsembleInputError(
                "ensemble state scores.calibration: one [n, conf, correct] per bin"
            )
        self._scores, self._calibration = scores, calibration


def _score(values: Any) -> Score:
    loss, outcomes, calls, hits = values
    return Score(float(loss), int(outcomes), int(calls), int(hits))
