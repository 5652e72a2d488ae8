"""GET a URL with retries: what makes a long archive download survive a flaky connection.

Transient failures (connection refused or reset, timeouts, truncated bodies, HTTP 408 /
429 / 5xx) are retried with exponential backoff; anything else (a 404, a 403) is final at
once, because retrying a missing archive only delays the error the user needs to see.
Failures raise :class:`~models.errors.DownloadError` carrying the URL and HTTP status.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from models.errors import ConfigError, DownloadError

TRANSIENT_STATUS: frozenset[int] = frozenset({408, 425, 429, 500, 502, 503, 504})
USER_AGENT = "smartmarket-downloader/0.1"


@dataclass
class HttpFetcher:
    """``get(url) -> bytes`` with ``retries`` extra attempts spaced ``backoff * 2**n`` s."""

    retries: int = 4
    backoff: float = 1.0
    timeout: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    on_retry: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ConfigError(f"retries must be >= 0, got {self.retries}")
        if self.backoff < 0:
            raise ConfigError(f"backoff must be >= 0 seconds, got {self.backoff}")
        if self.timeout <= 0:
            raise ConfigError(f"timeout must be > 0 seconds, got {self.timeout}")

    def _once(self, url: str) -> bytes:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            body: bytes = response.read()
            return body

    def get(self, url: str) -> bytes:
        """The body of ``url``; raises :class:`DownloadError` when it cannot be had."""
        attempts = self.retries + 1
        for attempt in range(attempts):
            try:
                return self._once(url)
            except urllib.error.HTTPError as exc:
                if exc.code not in TRANSIENT_STATUS:
                    raise DownloadError(
                        f"HTTP {exc.code} {exc.reason} for {url}", url=url, status=exc.code
                    ) from None
                reason, status = f"HTTP {exc.code} {exc.reason}", exc.code
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                reason, status = str(getattr(exc, "reason", exc)) or type(exc).__name__, None
            if attempt + 1 < attempts:
                delay = self.backoff * 2**attempt
                if self.on_retry is not None:
                    self.on_retry(
                        f"{url}: {reason}; retry {attempt + 1}/{self.retries} in {delay:g} s"
                    )
                self.sleep(delay)
        raise DownloadError(
            f"network failure fetching {url} after {attempts} attempt(s): {reason}",
            url=url,
            status=status,
        )
