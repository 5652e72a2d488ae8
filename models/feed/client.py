"""The exchange's REST API, as the feed uses it: ``/api/v3/time`` and ``/api/v3/klines``.

Every failure becomes a :class:`~models.errors.FeedError` the feed can act on: a 429 or
418 carries the exchange's ``Retry-After`` (seconds), a 5xx, a dropped connection, or a
request longer than ``timeout_s`` (a stall) is a plain transient error, and any other 4xx
(an unknown symbol, a bad interval) is reported the same way with its status so it is
visible in ``GET /v1/feed``. The base URL is configuration; nothing here retries.
"""

from __future__ import annotations

from typing import Any

import httpx

from models.errors import FeedError

KLINES_PATH = "/api/v3/klines"
TIME_PATH = "/api/v3/time"


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (absent or unreadable: None)."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class KlinesClient:
    """Async REST client bound to one base URL (one connection pool per feed)."""

    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s)

    async def close(self) -> None:
        await self._http.aclose()

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        url = f"{self.base_url}{path}"
        try:
            response = await self._http.get(path, params=params)
        except httpx.TimeoutException:
            raise FeedError(f"{url}: no answer within the timeout (stalled)") from None
        except httpx.HTTPError as exc:
            raise FeedError(f"{url}: connection failed: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status in (418, 429):
            wait = retry_after(response)
            raise FeedError(
                f"{url}: HTTP {status} rate limited (Retry-After {wait} s)",
                status=status,
                retry_after=wait,
            )
        if status != 200:
            raise FeedError(f"{url}: HTTP {status}: {response.text[:200]}", status=status)
        try:
            return response.json()
        except ValueError:
            raise FeedError(f"{url}: body is not JSON: {response.text[:80]!r}") from None

    async def server_time(self) -> int:
        """The exchange's clock in ms (closed bars are judged by it, not by ours)."""
        body = await self._get(TIME_PATH)
        value = body.get("serverTime") if isinstance(body, dict) else None
        if isinstance(value, bool) or not isinstance(value, int):
            raise FeedError(f"{self.base_url}{TIME_PATH}: serverTime missing in {body!r:.80}")
        return value

    async def klines(self, symbol: str, interval: str, start_ms: int, limit: int) -> Any:
        """One page of klines opening at or after ``start_ms`` (raw JSON rows)."""
        params = {"symbol": symbol, "interval": interval, "startTime": start_ms, "limit": limit}
        return await self._get(KLINES_PATH, params)
