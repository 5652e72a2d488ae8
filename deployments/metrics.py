"""The service's Prometheus metrics, defined once (``ray.serve.metrics``) and recorded cheaply.

Ray exports them on its metrics port (``scripts/serve.py --metrics-port N``) with a ``ray_``
prefix and Serve's own tags (deployment, replica, application) added; docs/metrics.md lists
every name with its tags. Metric objects are created on first use in each replica (never at
import). Recorders catch nothing: a wrong tag is a bug for the tests to find. Ray exports
the recorded values periodically (new values show within about 10 s).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from ray.serve import metrics

from models.serving.replies import is_error
from models.trading import StepResult

# Ray annotates ``tag_keys`` as ``Tuple[str]`` (exactly one key) though it takes any number:
# the metrics with more than one tag ignore that one argument type below.

CONFIDENCE_BOUNDARIES = [0.1, 0.2, 0.3, 0.34, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1.0]
LATENCY_MS_BOUNDARIES: list[float] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]


@functools.cache
def _predictions() -> metrics.Counter:
    return metrics.Counter(
        "smartmarket_predictions",
        description="Signals answered, by symbol, signal and whether actionable.",
        tag_keys=("symbol", "signal", "actionable"),  # type: ignore[arg-type]
    )


@functools.cache
def _confidence() -> metrics.Histogram:
    return metrics.Histogram(
        "smartmarket_confidence",
        description="Confidence of the answered signals.",
        boundaries=CONFIDENCE_BOUNDARIES,
        tag_keys=("symbol",),
    )


@functools.cache
def _model_replies() -> metrics.Counter:
    return metrics.Counter(
        "smartmarket_model_replies",
        description="Member replies by model and status (errors counted as 'error').",
        tag_keys=("model", "status"),  # type: ignore[arg-type]
    )


@functools.cache
def _model_latency() -> metrics.Histogram:
    return metrics.Histogram(
        "smartmarket_model_latency_ms",
        description="Duration of one predictor call from the ensemble (ms).",
        boundaries=LATENCY_MS_BOUNDARIES,
        tag_keys=("model",),
    )


@functools.cache
def _model_age() -> metrics.Gauge:
    return metrics.Gauge(
        "smartmarket_model_age_seconds",
        description="Age of the loaded model version (from its manifest's created_at).",
        tag_keys=("symbol", "model"),  # type: ignore[arg-type]
    )


@functools.cache
def _cache_hits() -> metrics.Counter:
    return metrics.Counter(
        "smartmarket_model_cache_hits",
        description="Neural model requests served from the replica's multiplexed cache.",
        tag_keys=("model",),
    )


@functools.cache
def _model_loads() -> metrics.Counter:
    return metrics.Counter(
        "smartmarket_model_loads",
        description="Neural models loaded from the registry into a replica's cache.",
        tag_keys=("model",),
    )


@functools.cache
def _outcomes() -> metrics.Counter:
    return metrics.Counter(
        "smartmarket_outcomes_resolved",
        description="Predictions resolved: 'candles' (stored bars reached the horizon) "
        "or 'reported' (POST /v1/outcomes).",
        tag_keys=("symbol", "source"),  # type: ignore[arg-type]
    )


@functools.cache
def _feed_lag() -> metrics.Gauge:
    return metrics.Gauge(
        "smartmarket_feed_lag_seconds",
        description="Wall clock minus the close of the newest stored bar, per followed symbol.",
        tag_keys=("symbol",),
    )


@functools.cache
def _retrainings() -> metrics.Counter:
    return metrics.Counter(
        "smartmarket_retrainings",
        description="Scheduled retrainings finished, by model and result (published / failed).",
        tag_keys=("model", "result"),  # type: ignore[arg-type]
    )


@functools.cache
def _book_equity() -> metrics.Gauge:
    return metrics.Gauge(
        "smartmarket_book_equity",
        description="Equity of a trading book after its newest bar (paper, shadow).",
        tag_keys=("book",),
    )


@functools.cache
def _book_drawdown() -> metrics.Gauge:
    return metrics.Gauge(
        "smartmarket_book_drawdown",
        description="Fall of a trading book's equity from its peak, as a fraction.",
        tag_keys=("book",),
    )


@functools.cache
def _book_exposure() -> metrics.Gauge:
    return metrics.Gauge(
        "smartmarket_book_exposure",
        description="A trading book's positions over its equity: gross (sum of absolute "
        "values) or net.",
        tag_keys=("book", "kind"),  # type: ignore[arg-type]
    )


@functools.cache
def _book_fills() -> metrics.Counter:
    return metrics.Counter(
        "smartmarket_book_fills",
        description="Fills of a trading book: opened or closed positions.",
        tag_keys=("book", "action"),  # type: ignore[arg-type]
    )


def status_tag(status: str) -> str:
    """A bounded tag value: ``error: <Type>: <msg>`` becomes ``error``."""
    return "error" if is_error(status) else status


def record_answer(body: Mapping[str, Any]) -> None:
    """One answered signal: counts, confidence, and each member's reply status."""
    symbol = str(body["symbol"])
    actionable = "true" if body["actionable"] else "false"
    tags = {"symbol": symbol, "signal": str(body["signal"]), "actionable": actionable}
    _predictions().inc(tags=tags)
    _confidence().observe(float(body["confidence"]), tags={"symbol": symbol})
    for model, entry in body["models"].items():
        _model_replies().inc(tags={"model": model, "status": status_tag(entry["status"])})


def record_call_latencies(call_ms: Mapping[str, float]) -> None:
    """Per-call durations of a fan-out (keys ``call:<model>[:<symbol>]``, milliseconds)."""
    for key, ms in call_ms.items():
        model = key.split(":")[1]
        _model_latency().observe(float(ms), tags={"model": model})


def record_model_age(symbol: str, model: str, age_s: float) -> None:
    _model_age().set(float(age_s), tags={"symbol": symbol, "model": model})


def record_cache_hit(model: str) -> None:
    _cache_hits().inc(tags={"model": model})


def record_model_load(model: str) -> None:
    _model_loads().inc(tags={"model": model})


def record_outcomes(symbol: str, count: int, source: str) -> None:
    """``count`` predictions of ``symbol`` resolved (nothing recorded for zero)."""
    if count > 0:
        _outcomes().inc(count, tags={"symbol": symbol, "source": source})


def record_feed_lag(symbol: str, lag_s: float) -> None:
    """For the live candle feed: its lag behind the wall clock for ``symbol`` (seconds)."""
    _feed_lag().set(float(lag_s), tags={"symbol": symbol})


def record_books(steps: Sequence[StepResult], peaks: Mapping[str, float]) -> None:
    """The trading books after the bars just stepped (``peaks``: each book's highest
    equity so far, for the drawdown)."""
    if not steps:
        return
    for step in steps:
        for fill in step.fills:
            _book_fills().inc(tags={"book": fill.book, "action": fill.action})
    for book, point in steps[-1].equity.items():
        _book_equity().set(point.equity, tags={"book": book})
        peak = peaks.get(book, point.equity)
        _book_drawdown().set(1.0 - point.equity / peak if peak > 0 else 0.0, tags={"book": book})
        _book_exposure().set(point.gross, tags={"book": book, "kind": "gross"})
        _book_exposure().set(point.net, tags={"book": book, "kind": "net"})


def record_retraining(model: str, result: str) -> None:
    _retrainings().inc(tags={"model": model, "result": result})
