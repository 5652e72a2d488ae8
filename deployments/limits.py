"""Request body size limit (413), enforced before the body is parsed.

A declared ``Content-Length`` over the limit is refused at once; a body without one
(chunked) is counted as it arrives and refused when it passes the limit. The limit is read
from ``app.state.max_body_bytes`` (set by the ingress from its settings).
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from deployments.http_errors import ApiError, respond

DEFAULT_LIMIT = 4 * 1024 * 1024


class BodyLimit:
    """ASGI middleware refusing request bodies larger than the configured limit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = getattr(scope.get("app"), "state", None)
        limit = int(getattr(state, "max_body_bytes", DEFAULT_LIMIT))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise ApiError(413, "body", f"request body is over {limit} bytes")
            return message

        await self.app(scope, counted, send)


def _too_large(limit: int) -> JSONResponse:
    return respond(413, [("body", f"request body is over {limit} bytes")])
