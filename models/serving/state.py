"""Serving state kept consistent: stored candles, pending predictions and what the ensemble
learned from their outcomes.

Only predictions made on the stored series are stored (the feed's bars, keyed candle
appends, ``POST /v1/predict`` with a symbol and no candles), at most one per bar; a
prediction on candles a client sent is answered and never stored, so no client chooses
what the ensemble learns. A pending prediction resolves itself once the stored candles
reach its horizon: its realized log return comes from stored closes and goes to
:meth:`Ensemble.record_outcome`.
Outcomes and the ensemble's new learned state are committed in one transaction, and the
in-memory ensemble is rolled back if that commit fails, so memory never runs ahead of disk.
Opening the state also resolves whatever became due while the process was down.

The first candles of a symbol the learned ensemble has no outcome for warm-start its base
rate: the classes of the stored bars whose outcome is already known (what the evaluation's
replay does with the history before its period). A symbol the learned combiner has no state
for starts from the combiner published with its models (``combiners``: symbol -> fit, from
:func:`models.ensemble.published.load_fits`), as the evaluation's seeded replay does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import polars as pl

from models.data.clock import check_clock
from models.data.times import iso_us
from models.data.validation import validate_ohlcv
from models.ensemble import Ensemble, SignalRecord
from models.errors import ConflictError, NotFoundError
from models.labels import LabelConfig, make_labels
from models.serving import views
from models.store.predictions import StoredPrediction
from models.store.store import StateStore

STATE_KEY = "ensemble"
"""Key of the ensemble's learned state in the store."""


class ServingState:
    """The state behind the serving API (one instance per state file)."""

    def __init__(
        self,
        store: StateStore,
        ensemble: Ensemble,
        label_cfg: LabelConfig | None = None,
        combiners: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.store = store
        self.ensemble = ensemble
        self.label_cfg = label_cfg or LabelConfig()
        saved, self.version = store.load_state(STATE_KEY)
        if saved is not None:
            ensemble.load_state_dict(saved)
        if combiners and ensemble.seed(combiners):  # symbols with no learned state yet
            self.version = store.save_state(STATE_KEY, ensemble.state_dict())
        for symbol in store.pending_symbols():
            self._resolve_due(symbol)

    # candles ---------------------------------------------------------------------------
    def append_candles(
        self, symbol: str, frame: pl.DataFrame, step_us: int | None = None
    ) -> dict[str, Any]:
        """Validate and append candles (following the stored ones by whole ``step_us``
        intervals when given), then resolve predictions that became due."""
        validate_ohlcv(frame, "candles")
        appended = self.store.append_candles(symbol, frame, step_us)
        if appended and self.ensemble.needs_history(symbol):
            self._warm_start(symbol)
        resolved = self._resolve_due(symbol)
        return {
            "symbol": symbol,
            "appended": appended,
            "last_timestamp": frame["timestamp"][-1].isoformat() if appended else None,
            "resolved": resolved,
            "learned_version": self.version,
        }

    def append_bar(
        self,
        symbol: str,
        bar: Mapping[str, Any],
        window_bars: int,
        step_us: int | None = None,
        closed_by_us: int | None = None,
    ) -> tuple[pl.DataFrame, dict[str, Any]]:
        """Append one bar (no timestamp: one interval after the stored history) and return
        the newest ``window_bars`` stored candles with what the append did. With
        ``closed_by_us`` (now) and ``step_us`` the bar must have closed by then."""
        stamp = bar.get("timestamp")
        if stamp is None and step_us is not None:
            last = self.store.feed_cursor(symbol)[0]
            if last is None:
                raise ConflictError(
                    f"features.timestamp: required while {symbol} has no stored candles; "
                    f"load history with POST /v1/candles/{symbol}"
                )
            stamp = datetime.fromtimestamp((last + step_us) / 1_000_000, tz=timezone.utc)
        if stamp is None:
            recent = self.store.candles(symbol, limit=2)
            if recent.height < 2:
                raise ConflictError(
                    f"features.timestamp: required while {symbol} has fewer than 2 stored "
                    f"candles (the bar interval is unknown); load history with "
                    f"POST /v1/candles/{symbol}"
                )
            stamp = recent["timestamp"][1] + (recent["timestamp"][1] - recent["timestamp"][0])
        row = {k: [float(bar[k])] for k in ("open", "high", "low", "close", "volume")}
        ts = pl.Series("timestamp", [stamp]).cast(pl.Datetime("us", "UTC"))
        frame = pl.DataFrame(row).insert_column(0, ts)
        if closed_by_us is not None and step_us is not None:
            check_clock(frame, step_us, closed_by_us, closed=True)
        done = self.append_candles(symbol, frame, step_us)
        return self.store.candles(symbol, limit=window_bars), done

    def candles(self, symbol: str, limit: int | None, until: int | None = None) -> pl.DataFrame:
        frame = self.store.candles(symbol, limit, until)
        if frame.height == 0:
            raise NotFoundError(
                f"symbol: no candles stored for {symbol}; load them with POST /v1/candles/{symbol}"
            )
        return frame

    # predictions and outcomes ----------------------------------------------------------
    def add_predictions(self, items: Sequence[StoredPrediction]) -> int:
        """Store pending predictions made on the stored series (one per bar: a bar that has
        one keeps it); returns the learned-state version (for refreshes)."""
        if items:
            self.store.add_predictions(items)
        return self.version

    def newest_signal(self, symbol: str, window_bars: int) -> dict[str, Any]:
        """What ``POST /v1/predict`` with a symbol and no candles needs: ``{"answer": ...}``,
        the stored answer for the newest stored bar when it was made, else ``{"window": the
        newest window_bars stored candles, "learned_version": ...}`` to make it on."""
        last = self.store.feed_cursor(symbol)[0]
        if last is None:
            raise NotFoundError(
                f"symbol: no candles stored for {symbol}; load them with "
                f"POST /v1/candles/{symbol} or follow it with the feed"
            )
        found = self.store.prediction_at(symbol, last)
        if found is not None and found.answer is not None and "prediction_id" in found.answer:
            return {"answer": dict(found.answer)}
        window = self.store.candles(symbol, limit=window_bars)
        return {"window": window, "learned_version": self.version}

    def stored_answer(self, symbol: str, as_of: int) -> dict[str, Any] | None:
        """The answer stored for ``symbol`` at bar ``as_of`` (µs), None when none is."""
        found = self.store.prediction_at(symbol, as_of)
        return None if found is None or found.answer is None else dict(found.answer)

    def record_outcome(self, prediction_id: str, realized_return: float) -> dict[str, Any]:
        """Learn from a realized return reported by the client."""
        found = self.store.prediction(prediction_id)
        if found is None:
            raise NotFoundError(f"prediction_id: no prediction {prediction_id!r}")
        if not found.pending:
            raise ConflictError(
                f"prediction_id: {prediction_id} is already resolved "
                f"(realized_return {found.realized_return})"
            )
        return {**self._learn([(found, realized_return)])[0], "learned_version": self.version}

    def _warm_start(self, symbol: str) -> None:
        """Seed the base rate of ``symbol`` from its stored history and commit the state."""
        labels = make_labels(self.store.candles(symbol), self.label_cfg).drop_nulls().to_list()
        if not labels:
            return
        before = self.ensemble.state_dict()
        self.ensemble.warm_start(symbol, labels)
        try:
            self.version = self.store.save_state(STATE_KEY, self.ensemble.state_dict())
        except BaseException:
            self.ensemble.load_state_dict(before)
            raise

    def _resolve_due(self, symbol: str) -> list[str]:
        due = self.store.due(symbol)
        return [change["prediction_id"] for change in self._learn(due)] if due else []

    def _learn(self, items: Sequence[tuple[StoredPrediction, float]]) -> list[dict[str, Any]]:
        """Apply outcomes to the ensemble and commit them with its state, all or nothing."""
        before = self.ensemble.state_dict()
        try:
            changes = []
            for prediction, realized in items:
                record = SignalRecord.from_dict(prediction.record)
                change = self.ensemble.record_outcome(record, float(realized))
                changes.append({"prediction_id": prediction.id, **change})
            pairs = [(p.id, float(r)) for p, r in items]
            _, version = self.store.resolve(pairs, (STATE_KEY, self.ensemble.state_dict()))
        except BaseException:
            self.ensemble.load_state_dict(before)
            raise
        self.version = version if version is not None else self.version
        return changes

    # reads -----------------------------------------------------------------------------
    def performance(self, symbol: str) -> dict[str, Any]:
        """The ensemble's per-model accuracy and weights for ``symbol``, with counts."""
        return {
            **self.ensemble.performance(symbol),
            "predictions": self.store.prediction_counts(symbol),
            "stored_candles": self.store.symbols().get(symbol, 0),
        }

    def symbols(self) -> dict[str, int]:
        """Symbols with stored candles and how many each has."""
        return self.store.symbols()

    def predictions(
        self, symbol: str, since: int | None, until: int | None, limit: int
    ) -> dict[str, Any]:
        """Stored predictions with ``since <= as_of < until`` (microseconds), the newest
        ``limit`` of them oldest first, with their outcomes and the page's degraded count."""
        rows = self.store.predictions_in_range(symbol, since, until, limit + 1)
        kept, next_until = views.page(rows, limit)
        return {
            "symbol": symbol,
            "count": len(kept),
            "predictions": [views.prediction_view(p) for p in kept],
            "next_until": None if next_until is None else iso_us(next_until),
            "degraded": views.degraded_summary(kept),
        }

    def calibration(self, symbol: str, limit: int, bins: int) -> dict[str, Any]:
        """Calibration of the newest ``limit`` resolved predictions; the threshold marked is
        the one the newest stored prediction was made with."""
        rows = self.store.resolved_predictions(symbol, limit)
        newest = self.store.predictions_in_range(symbol, None, None, 1)
        threshold = float(newest[0].record["threshold"]) if newest else None
        return {"symbol": symbol, **views.calibration(rows, threshold, bins)}

    def weights(
        self, symbol: str, since: int | None, until: int | None, limit: int
    ) -> dict[str, Any]:
        """Expert weights at each of the newest ``limit`` stored predictions in range."""
        rows = self.store.predictions_in_range(symbol, since, until, limit)
        return {"symbol": symbol, **views.weights_history(rows[::-1])}

    def feed_cursor(self, symbol: str) -> tuple[int | None, int | None, int]:
        """(newest stored bar, newest prediction) of ``symbol`` in µs and the learned-state
        version: where a candle feed resumes."""
        return (*self.store.feed_cursor(symbol), self.version)

    def tracker_state(self) -> tuple[dict[str, Any], int]:
        """The ensemble's learned state and its version (what serving replicas load)."""
        return self.ensemble.state_dict(), self.version
