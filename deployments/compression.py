"""Gzip for the large read answers (history, candles) only.

The dashboard reads ~1 MB of JSON per symbol (2,000 candles, hundreds of predictions with
every model's entry), which compresses ~5x. The prediction path is left alone: its answers
are small and its latency is measured to the millisecond (docs/serving.md).
"""

from __future__ import annotations

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

COMPRESSED_PREFIXES: tuple[str, ...] = (
    "/v1/candles/",
    "/v1/predictions/",
    "/v1/weights/",
    "/v1/calibration/",
)
MINIMUM_BYTES = 4096


class GzipReads:
    """ASGI middleware: Starlette's gzip for GET requests under :data:`COMPRESSED_PREFIXES`
    from clients that accept it (answers under :data:`MINIMUM_BYTES` stay plain)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=MINIMUM_BYTES, compresslevel=5)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"].startswith(COMPRESSED_PREFIXES)
        ):
            await self.gzip(scope, receive, send)
            return
        await self.app(scope, receive, send)
