"""Errors as HTTP answers: every failure a client can cause is a 4xx naming the field and
the reason; anything unexpected is logged here and answered with a short 5xx, never with a
traceback.

Body: ``{"detail": "<field>: <reason>", "errors": [{"field": ..., "reason": ...}]}``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ray.exceptions import RayError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.errors import (
    ConflictError,
    CorruptModelError,
    DataValidationError,
    InsufficientDataError,
    ModelNotFoundError,
    NotFoundError,
    SmartMarketError,
)
from models.serving.remote import unwrap

logger = logging.getLogger("ray.serve")


class ApiError(HTTPException):
    """A client error found by the HTTP layer itself: status, field and reason.

    An ``HTTPException`` so that FastAPI lets it through even when it is raised while the
    body is being read (the size limit), instead of turning it into a generic 400.
    """

    def __init__(
        self, status: int, field: str, reason: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status, detail=f"{field}: {reason}", headers=headers)
        self.status, self.field, self.reason = status, field, reason


def body(errors: Sequence[tuple[str, str]]) -> dict[str, Any]:
    detail = "; ".join(f"{f}: {r}" if f else r for f, r in errors)
    return {"detail": detail, "errors": [{"field": f, "reason": r} for f, r in errors]}


def respond(status: int, errors: Sequence[tuple[str, str]], **headers: str) -> JSONResponse:
    return JSONResponse(body(errors), status_code=status, headers=headers or None)


def _loc(parts: Sequence[Any]) -> str:
    """``("body", "candles", 3, "high")`` -> ``candles[3].high``."""
    out = ""
    for part in parts:
        if part in ("body", "path", "query") and not out:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def data_field(exc: DataValidationError, prefix: str) -> str:
    """Where a candle-frame error is, in request terms: ``candles[3].high``."""
    where = prefix
    if exc.row is not None and prefix == "candles":
        where += f"[{exc.row}]"
    if exc.column is not None:
        where += f".{exc.column}"
    return where


_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (NotFoundError, 404),
    (ModelNotFoundError, 404),
    (ConflictError, 409),
    (CorruptModelError, 503),
    (SmartMarketError, 422),
)


def library_error(exc: SmartMarketError, prefix: str = "") -> ApiError:
    """Our library's error as an :class:`ApiError` (status by type, field when known)."""
    status = next(code for cls, code in _STATUS if isinstance(exc, cls))
    if isinstance(exc, DataValidationError):
        return ApiError(status, data_field(exc, prefix or "candles"), exc.reason)
    if isinstance(exc, InsufficientDataError):
        return ApiError(status, prefix or "candles", str(exc))
    text = str(exc)
    field, sep, reason = text.partition(": ")
    if sep and " " not in field:  # our messages start with the field: "symbol: ..."
        return ApiError(status, field, reason)
    return ApiError(status, prefix, text)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return respond(exc.status, [(exc.field, exc.reason)], **(exc.headers or {}))


# FastAPI's answer to a body it cannot decode at all (not UTF-8): name the body.
_UNPARSABLE = "There was an error parsing the body"


async def _http(_: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (unknown route, wrong method) in the same shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSABLE:
        return respond(400, [("body", "cannot be parsed: not UTF-8 encoded JSON")])
    return respond(exc.status_code, [("", str(exc.detail))], **(exc.headers or {}))


def _field_error(error: dict[str, Any]) -> tuple[str, str]:
    """(field, reason) of one validation error; a body that is not JSON names ``body``
    and the character where parsing stopped (FastAPI's own location is ``[<pos>]``)."""
    if error.get("type") == "json_invalid":
        loc = error.get("loc", ())
        where = f" at character {loc[-1]}" if len(loc) > 1 else ""
        detail = (error.get("ctx") or {}).get("error", "")
        return "body", f"invalid JSON{where}" + (f": {detail}" if detail else "")
    return _loc(error.get("loc", ())), error.get("msg", "invalid")


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return respond(422, [_field_error(e) for e in exc.errors()])


def unexpected(exc: BaseException) -> JSONResponse:
    """Log ``exc`` with an id and answer 503 (a deployment is down) or 500."""
    error_id = uuid.uuid4().hex[:12]
    if isinstance(exc, RayError):
        logger.error("deployment call failed [%s]: %s", error_id, exc)
        return respond(503, [("", f"a service component is unavailable (error id {error_id})")])
    logger.exception("unexpected error [%s]", error_id, exc_info=exc)
    return respond(500, [("", f"internal error (error id {error_id})")])


async def _library_or_remote(_: Request, exc: Exception) -> JSONResponse:
    cause = unwrap(exc)
    if isinstance(cause, SmartMarketError):
        err = library_error(cause)
        return respond(err.status, [(err.field, err.reason)])
    if isinstance(cause, ApiError):
        return respond(cause.status, [(cause.field, cause.reason)])
    return unexpected(exc)


class CatchAll:
    """ASGI middleware: an exception no handler took becomes a logged 500/503 answer
    (Starlette's own last-resort handler would re-raise it after answering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                raise
            await unexpected(exc)(scope, receive, send)


def install(app: FastAPI) -> None:
    """Register every handler above on ``app``."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(SmartMarketError, _library_or_remote)
    app.add_exception_handler(RayError, _library_or_remote)
    app.add_middleware(CatchAll)
