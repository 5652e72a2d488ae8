"""The prediction pipeline without Ray: window preparation and turning replies into an answer.

The Serve deployments and the in-process baseline of ``scripts/bench_serve.py`` share these
functions, so "the same ensemble computed in-process" really is the same code; the only
difference under Serve is where each predictor runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

import polars as pl

from models.data.intervals import bar_index, bar_step_us
from models.data.times import epoch_us_array
from models.ensemble import Ensemble, EnsembleSignal, Unavailable
from models.features.indicators import ensure_indicators
from models.labels import LabelConfig, flat_band
from models.predictors.base import Prediction, create_predictor
from models.predictors.leader import attach_leader
from models.predictors.registry import predictor_names
from models.regime.detector import RegimeDetector
from models.serving.replies import HEALTHY_STATUSES, NO_MODEL, Reply
from models.store import StoredPrediction
from models.vocabulary import CLASSES


def required_bars(label_cfg: LabelConfig | None = None) -> int:
    """Fewest candles a request needs: the most any rule predictor, the regime detector
    or the flat band needs (a trained model needing more only reports ``insufficient_data``)."""
    cfg = label_cfg or LabelConfig()
    needs = [create_predictor(name).min_bars for name in predictor_names("rule")]
    needs += [RegimeDetector().min_bars, cfg.vol_window + 1]
    return max(needs)


def prepare_window(frame: pl.DataFrame, window_bars: int) -> pl.DataFrame:
    """Indicator columns computed once over everything sent, then the newest bars only
    (warm-up uses the whole history; predictors get a bounded window to ship and scan)."""
    return ensure_indicators(frame).tail(window_bars)


MAX_LEADER_BARS = 20_000
"""Most leader candles one batch fetches (the state keeps 20,000 bars per symbol)."""


def leader_request(
    symbols: Sequence[str], windows: Sequence[pl.DataFrame], leader: str
) -> tuple[int, int] | None:
    """``(until_us, limit)``: the stored ``leader`` candles that cover every window of another
    symbol (one read per batch, however many symbols), or None when there is none."""
    others = [w for s, w in zip(symbols, windows, strict=True) if s != leader and w.height]
    if not others:
        return None
    spans = [epoch_us_array(w["timestamp"]) for w in others]
    firsts = [int(s[0]) for s in spans]
    lasts = [int(s[-1]) for s in spans]
    stamps = spans[0]
    step = bar_step_us(stamps)
    bars = (max(lasts) - min(firsts)) // step + 1
    return max(lasts), int(min(bars, MAX_LEADER_BARS))


def leader_cut(stored: pl.DataFrame, until: int, limit: int) -> pl.DataFrame:
    """What the state's ``candles(leader, limit, until)`` returns, from a frame in memory."""
    opened = stored["timestamp"].dt.epoch("us") <= until
    return stored.filter(opened).tail(limit)


def with_leader(window: pl.DataFrame, leader: pl.DataFrame | None) -> pl.DataFrame:
    """``window`` with the leader's candles at the same open times as ``leader_*`` columns
    (unchanged without leader candles: the predictor that needs them says so)."""
    if leader is None or leader.height == 0:
        return window
    return attach_leader(window, leader)


def window_bar(window: pl.DataFrame) -> int:
    """The bar index of a window's newest candle (open time / bar interval), as the
    evaluation's replay computes it: the learned ensemble's clock."""
    stamps = epoch_us_array(window["timestamp"])
    return bar_index(int(stamps[-1]), bar_step_us(stamps))


def new_prediction_id() -> str:
    return uuid.uuid4().hex


def _as_input(reply: Reply) -> Prediction | Unavailable | None:
    """What :meth:`Ensemble.combine` takes for one model's reply: the prediction, nothing
    (a healthy absence: no model, too few bars), or the failure as data."""
    if reply.ok:
        if isinstance(reply.value, Prediction):
            return reply.value
        return Unavailable(f"error: expected a Prediction, got {type(reply.value).__name__}")
    if reply.status in HEALTHY_STATUSES:
        return None
    return Unavailable(reply.status)


def _model_entry(signal: EnsembleSignal, name: str, reply: Reply) -> dict[str, Any]:
    contribution = signal.contributions.get(name)
    probs = contribution.probabilities if contribution is not None else None
    return {
        "status": reply.status,
        "probabilities": dict(zip(CLASSES, probs, strict=True)) if probs else None,
        "confidence": contribution.confidence if contribution is not None else None,
        "weight": contribution.weight if contribution is not None else 0.0,
        "version": reply.version,
    }


SIGNAL_FIELDS: tuple[str, ...] = (
    "signal",
    "probabilities",
    "confidence",
    "quality",
    "actionable",
    "regime",
    "threshold",
    "coverage",
    "agreement",
    "reasons",
    "score",
    "experts",
)
"""Fields of the answer that are the ensemble signal's own (``EnsembleSignal.to_dict``)."""


@dataclass(frozen=True)
class Answer:
    """The JSON body of a prediction and the pending record to store for it."""

    body: dict[str, Any]
    stored: StoredPrediction


def assemble(
    ensemble: Ensemble,
    symbol: str,
    window: pl.DataFrame,
    replies: Mapping[str, Reply],
    regime: Reply,
    label_cfg: LabelConfig,
    prediction_id: str,
    source: str = "request",
) -> Answer:
    """Combine the replies of one window into the API answer and its pending record.

    ``source``: ``stored`` when the window is the service's stored series (the answer is
    stored whole and served again for that bar; its outcome is learned), ``request`` when
    it is candles a client sent (answered only)."""
    predictions = {name: _as_input(reply) for name, reply in replies.items()}
    state = regime.value if regime.ok else None
    signal = ensemble.combine(symbol, predictions, state, window_bar(window))
    record = signal.to_record(flat_band(window, label_cfg)).to_dict()
    answered = sum(1 for c in signal.contributions.values() if c.status == "ok")
    unavailable = {n: r.status for n, r in replies.items() if r.status not in HEALTHY_STATUSES}
    if not regime.ok:
        unavailable["regime"] = regime.status
    as_of = window["timestamp"][-1]
    created = datetime.now(timezone.utc)
    signal_json = signal.to_dict()  # the signal's one serializer; the rest is this request's
    body = {
        "prediction_id": prediction_id,
        "symbol": symbol,
        "as_of": as_of.isoformat(),
        "horizon_bars": label_cfg.horizon,
        **{k: signal_json[k] for k in SIGNAL_FIELDS},
        "models": {n: _model_entry(signal, n, r) for n, r in replies.items()},
        "degraded": bool(unavailable) or answered < ensemble.config.min_models,
        "unavailable": unavailable,
        "no_model": sorted(n for n, r in replies.items() if r.status == NO_MODEL),
        "created_at": created.isoformat(),
        "source": source,
    }
    stored = _pending(prediction_id, symbol, window, label_cfg, record, created)
    return Answer(body, replace(stored, answer=body))


def _pending(
    prediction_id: str,
    symbol: str,
    window: pl.DataFrame,
    label_cfg: LabelConfig,
    record: dict[str, Any],
    created: datetime,
) -> StoredPrediction:
    """The pending record of an answer: what resolving it later needs."""
    return StoredPrediction(
        id=prediction_id,
        symbol=symbol,
        as_of=int(window["timestamp"].dt.epoch("us")[-1]),
        horizon_bars=label_cfg.horizon,
        entry_close=float(window["close"][-1]),
        record=record,
        created_at=int(created.timestamp() * 1_000_000),
    )
