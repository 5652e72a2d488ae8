"""What the predictor deployments send back to the ensemble, one reply per window.

A reply never raises for one bad window or one missing model: the ensemble must always be
able to combine what it has, so failures travel as a ``status`` string instead.
Statuses: ``ok``; ``no_model`` (no trained model for the symbol); ``expired`` (its model is
older than ``expire_after``); ``insufficient_data``
(window shorter than the model needs); ``timeout`` (missed the ensemble's deadline);
``error: <Type>: <message>`` (the predictor or its deployment failed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import polars as pl

from models.errors import InsufficientDataError
from models.predictors.base import Prediction

OK, NO_MODEL, INSUFFICIENT, TIMEOUT = "ok", "no_model", "insufficient_data", "timeout"
EXPIRED = "expired"
HEALTHY_STATUSES = frozenset({OK, NO_MODEL, INSUFFICIENT, EXPIRED})
"""Statuses that do not mark an answer as degraded (nothing was unavailable): an
``expired`` model (older than ``expire_after``) is left out like ``no_model``."""


@dataclass(frozen=True)
class Reply:
    """One predictor's (or the regime detector's) answer for one window."""

    status: str
    value: Any = None
    version: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def failed(self) -> bool:
        """The predictor or its deployment failed (``error: ...``), as opposed to a healthy
        absence or a timeout."""
        return is_error(self.status)


def is_error(status: str) -> bool:
    """Whether ``status`` is an ``error: <Type>: <message>`` status."""
    return status.startswith("error")


MAX_MESSAGE = 200


def error_status(exc: BaseException) -> str:
    """``error: <Type>: <first line of the message>``, at most :data:`MAX_MESSAGE` chars of
    message, so a remote traceback never reaches a client."""
    lines = _rpc_message(exc) or str(exc).strip().splitlines()
    message = lines[0][:MAX_MESSAGE] if lines else ""
    return f"error: {type(exc).__name__}" + (f": {message}" if message else "")


def _rpc_message(exc: BaseException) -> list[str]:
    """``<CODE>: <details>`` of a gRPC error (Ray Serve's calls between replicas), whose
    text starts with a line that names neither; empty for any other exception."""
    code, details = getattr(exc, "code", None), getattr(exc, "details", None)
    if not (callable(code) and callable(details)):
        return []
    try:
        value = code()
        return [f"{getattr(value, 'name', value)}: {details()}"]
    except Exception:  # not a gRPC error after all
        return []


def reply_for(exc: BaseException) -> Reply:
    """The reply that stands for ``exc``."""
    if isinstance(exc, InsufficientDataError):
        return Reply(INSUFFICIENT, detail=str(exc))
    return Reply(error_status(exc), detail=str(exc))


T = TypeVar("T")


def each_window(
    fn: Callable[[pl.DataFrame], T], windows: Sequence[pl.DataFrame], version: str | None = None
) -> list[Reply]:
    """``fn`` on every window, a failure in one window only failing that window."""
    out = []
    for window in windows:
        try:
            out.append(Reply(OK, fn(window), version))
        except Exception as exc:  # one bad window must not sink the batch
            out.append(reply_for(exc))
    return out


def batch_or_each(
    predict_batch: Callable[[Sequence[pl.DataFrame]], list[Prediction]],
    predict_one: Callable[[pl.DataFrame], Prediction],
    windows: Sequence[pl.DataFrame],
    version: str | None,
) -> list[Reply]:
    """One batched call; if the batch fails, window by window to isolate the bad one."""
    try:
        return [Reply(OK, p, version) for p in predict_batch(windows)]
    except Exception:
        return each_window(predict_one, windows, version)
