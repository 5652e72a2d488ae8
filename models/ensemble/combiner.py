"""The one protocol both combiners implement; :class:`~models.ensemble.Ensemble` builds
exactly one of them, chosen by ``EnsembleConfig.mode`` at construction.

``combine`` never changes learned state and ``learn`` is the one place that does, so
serving replicas can combine with a copy of the state the state deployment owns. Only the
active combiner's state exists, and only it is persisted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from models.ensemble.inputs import PredictionInput
from models.ensemble.signal import EnsembleSignal, SignalRecord
from models.regime.state import RegimeState


class Combiner(Protocol):
    """Combine predictions into a signal, learn from outcomes, report, persist."""

    def combine(
        self,
        symbol: str,
        predictions: Mapping[str, PredictionInput],
        regime: RegimeState | None,
        bar: int | None,
    ) -> EnsembleSignal:
        """One signal for ``symbol`` (``bar``: the newest candle's bar index)."""
        ...

    def learn(self, record: SignalRecord, realized_return: float) -> dict[str, Any]:
        """Learn the realized (finite) return of ``record``'s signal; what changed."""
        ...

    def performance(self, symbol: str) -> dict[str, Any]:
        """What it has learned for ``symbol`` (``/v1/performance/{symbol}``)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Its learned state, JSON-serialisable."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output (an :class:`EnsembleInputError` when it is not
        one of this combiner's)."""
        ...

    def needs_history(self, symbol: str) -> bool:
        """Whether :meth:`warm_start` would use history of ``symbol``."""
        ...

    def warm_start(self, symbol: str, labels: Iterable[int]) -> int:
        """Seed ``symbol`` with the classes of bars resolved before its first forecast."""
        ...

    def seed(self, symbol: str, published: Mapping[str, Any]) -> bool:
        """Start ``symbol`` from a published fit when it has no learned state of its own;
        whether it did."""
        ...
