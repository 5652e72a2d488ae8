"""Read views of stored predictions for the API and the dashboard (pure, no Ray, no SQL).

Everything the dashboard draws is computed here from what the store holds, so the page and
the API agree by construction: each prediction with its outcome, pages of them, the
calibration of resolved ones and the expert weights over time. A prediction's outcome is
its realized log return classified with the flat band stored with it (what the ensemble
learned from); ``correct`` says whether the called class (up / flat / down) was that one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from models.data.times import iso_us
from models.ensemble.inputs import classify_return
from models.store.predictions import StoredPrediction
from models.vocabulary import CLASSES

LABELS: dict[int, str] = {-1: "down", 0: "flat", 1: "up"}
SIGNALS: dict[int, str] = {-1: "SELL", 0: "HOLD", 1: "BUY"}


def _probabilities(p: StoredPrediction) -> dict[str, float] | None:
    answer = p.answer or {}
    if answer.get("probabilities") is not None:
        return dict(answer["probabilities"])
    vector = p.record.get("probabilities")
    return None if vector is None else dict(zip(CLASSES, vector, strict=True))


def outcome(p: StoredPrediction) -> dict[str, Any] | None:
    """Realized return, its class and whether the call was right; None while pending."""
    if p.realized_return is None:
        return None
    realized = classify_return(float(p.realized_return), float(p.record["flat_band"]))
    return {
        "realized_return": p.realized_return,
        "label": LABELS[realized],
        "correct": realized == int(p.record["direction"]),
        "resolved_at": iso_us(p.resolved_at) if p.resolved_at is not None else None,
    }


def prediction_view(p: StoredPrediction) -> dict[str, Any]:
    """One stored prediction as the API shows it (fields of rows stored before schema
    version 2 that only the answer had are null)."""
    record, answer = p.record, p.answer or {}
    regime = answer.get("regime")
    if regime is None and record.get("regime") is not None:
        regime = {"name": record["regime"], "confidence": None, "transition_probability": None}
    return {
        "prediction_id": p.id,
        "as_of": iso_us(p.as_of),
        "created_at": iso_us(p.created_at),
        "horizon_bars": p.horizon_bars,
        "entry_close": p.entry_close,
        "signal": answer.get("signal", SIGNALS[int(record["direction"])]),
        "direction": int(record["direction"]),
        "probabilities": _probabilities(p),
        "confidence": record["confidence"],
        "actionable": record["actionable"],
        "threshold": record["threshold"],
        "quality": answer.get("quality"),
        "regime": regime,
        "models": answer.get("models"),
        "experts": answer.get("experts"),
        "score": (record.get("inputs") or {}).get("score"),
        "degraded": answer.get("degraded"),
        "unavailable": answer.get("unavailable"),
        "outcome": outcome(p),
    }


def page(rows: Sequence[StoredPrediction], limit: int) -> tuple[list[StoredPrediction], int | None]:
    """Oldest-first page from up to ``limit + 1`` rows fetched newest first, and the
    ``until`` (exclusive) of the next older page (None: no older one). A bar whose
    predictions the cut would split moves whole to the next page, unless it fills the page."""
    more = len(rows) > limit
    kept = list(rows[:limit])
    if more and kept and rows[limit].as_of == kept[-1].as_of:
        whole = [r for r in kept if r.as_of != kept[-1].as_of]
        kept = whole or kept
    next_until = kept[-1].as_of if more and kept else None
    return kept[::-1], next_until


def degraded_summary(rows: Sequence[StoredPrediction]) -> dict[str, Any]:
    """How many of ``rows`` were degraded answers, and why (``model: status`` counts)."""
    reasons: dict[str, int] = {}
    count = 0
    for p in rows:
        answer = p.answer or {}
        if answer.get("degraded"):
            count += 1
        for name, status in (answer.get("unavailable") or {}).items():
            key = f"{name}: {status}"
            reasons[key] = reasons.get(key, 0) + 1
    return {"count": count, "of": len(rows), "reasons": dict(sorted(reasons.items()))}


def _bins(n: int) -> list[dict[str, Any]]:
    return [{"low": i / n, "high": (i + 1) / n, "count": 0, "_p": 0.0, "_hit": 0} for i in range(n)]


def _finish(bins: list[dict[str, Any]], mean: str, rate: str) -> list[dict[str, Any]]:
    out = []
    for b in bins:
        n = b["count"]
        out.append(
            {
                "low": round(b["low"], 6),
                "high": round(b["high"], 6),
                "count": n,
                mean: b["_p"] / n if n else None,
                rate: b["_hit"] / n if n else None,
            }
        )
    return out


def _add(bins: list[dict[str, Any]], value: float, hit: bool) -> None:
    b = bins[min(int(value * len(bins)), len(bins) - 1)]
    b["count"] += 1
    b["_p"] += value
    b["_hit"] += int(hit)


def calibration(
    rows: Sequence[StoredPrediction], threshold: float | None, n_bins: int = 10
) -> dict[str, Any]:
    """Reliability (every class's predicted probability vs how often that class happened)
    and accuracy by confidence bucket, from resolved predictions; ``ece`` is the expected
    calibration error of the confidence. Rows without probabilities count as skipped."""
    reliability, confidence = _bins(n_bins), _bins(n_bins)
    used = 0
    for p in rows:
        probs = _probabilities(p)
        if p.realized_return is None or probs is None:
            continue
        realized = classify_return(float(p.realized_return), float(p.record["flat_band"]))
        for cls, value in probs.items():
            _add(reliability, float(value), LABELS[realized] == cls)
        _add(confidence, float(p.record["confidence"]), realized == int(p.record["direction"]))
        used += 1
    buckets = _finish(confidence, "mean_confidence", "accuracy")
    ece = sum(
        b["count"] / used * abs(b["accuracy"] - b["mean_confidence"]) for b in buckets if b["count"]
    )
    return {
        "resolved": used,
        "skipped": len(rows) - used,
        "threshold": threshold,
        "ece": ece if used else None,
        "reliability": _finish(reliability, "mean_predicted", "frequency"),
        "confidence": buckets,
    }


def weights_history(rows: Sequence[StoredPrediction]) -> dict[str, Any]:
    """Each member's weight in the combined score at every stored prediction (the learned
    state after the outcomes known when it was made), oldest first; rows without experts
    are left out."""
    experts: dict[str, None] = {}
    points = []
    for p in rows:
        stored: Mapping[str, Any] = (p.answer or {}).get("experts") or {}
        if not stored:
            continue
        weights = {name: e.get("weight") for name, e in stored.items()}
        experts.update(dict.fromkeys(weights))
        points.append({"as_of": iso_us(p.as_of), "weights": weights})
    return {"experts": list(experts), "points": points}
