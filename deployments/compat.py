"""The original service's ``/enhanced/predict`` answer, built from a ``/v1/predict`` answer.

Field meanings (docs/api.md): ``prediction`` is P(up) - P(down) in [-1, 1];
``signal_valid`` is ``actionable``; ``quality_score`` maps the quality grade to a number;
``recommendation`` is the signal label; ``market_regime`` / ``regime_strength`` are the
regime name and its confidence; ``model_predictions`` is each model's P(up) - P(down)
(null when it gave none).
"""

from __future__ import annotations

from typing import Any

QUALITY_SCORE: dict[str, float] = {"EXCELLENT": 1.0, "GOOD": 0.75, "FAIR": 0.5, "POOR": 0.25}


def _score(probabilities: dict[str, float] | None) -> float | None:
    return None if probabilities is None else probabilities["up"] - probabilities["down"]


def enhanced_body(answer: dict[str, Any]) -> dict[str, Any]:
    """Map a ``/v1/predict`` answer to the original response shape (plus prediction_id)."""
    regime = answer["regime"]
    models = answer["models"]
    return {
        "symbol": answer["symbol"],
        "prediction": _score(answer["probabilities"]),
        "confidence": answer["confidence"],
        "signal_valid": answer["actionable"],
        "quality_score": QUALITY_SCORE[answer["quality"]],
        "recommendation": answer["signal"],
        "market_regime": regime["name"] if regime else None,
        "regime_strength": regime["confidence"] if regime else None,
        "model_predictions": {m: _score(v["probabilities"]) for m, v in models.items()},
        "confidence_breakdown": {
            "ensemble": answer["confidence"],
            "threshold": answer["threshold"],
            "agreement": answer["agreement"],
            "coverage": answer["coverage"],
            "models": {m: v["confidence"] for m, v in models.items()},
            "status": {m: v["status"] for m, v in models.items()},
        },
        "prediction_time": answer["created_at"],
        "enhanced": True,
        "prediction_id": answer["prediction_id"],
    }
