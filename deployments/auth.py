"""Bearer-key protection of the write endpoints (and, optionally, of the reads).

The key is read once from the environment variable named by ``AppSettings.api_key_env``.
Writes fail closed: without a key the app refuses to start, unless its settings say
``allow_open_writes: true`` (then every write is open, a warning is logged at every start
and ``/healthz`` says ``writes: open``). The key is compared in constant time and never
logged or echoed. ``SMARTMARKET_PROTECT_READS=1`` asks for the key on the read endpoints
too (everything but ``/healthz``, which load balancers probe); it needs a key to be set.
"""

from __future__ import annotations

import hmac
import os

from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from deployments.http_errors import ApiError
from models.errors import ConfigError

bearer = HTTPBearer(auto_error=False, description="the key in $SMARTMARKET_API_KEY")
PROTECT_READS_ENV = "SMARTMARKET_PROTECT_READS"


class ApiKeyAuth:
    """Checks ``Authorization: Bearer <key>`` against the configured key."""

    def __init__(self, env_name: str, allow_open_writes: bool = False) -> None:
        key = os.environ.get(env_name, "")
        self._key = key.encode() if key else None
        flag = os.environ.get(PROTECT_READS_ENV, "").strip().lower()
        self.protect_reads = flag in ("1", "true", "yes", "on")
        if self.protect_reads and self._key is None:
            raise ConfigError(
                f"{PROTECT_READS_ENV}: reads cannot be protected: ${env_name} is empty"
            )
        if self._key is None and not allow_open_writes:
            raise ConfigError(
                f"api_key_env: ${env_name} is empty, so anyone could write candles and steer "
                "what the ensemble learns; set the key, or allow_open_writes: true in the "
                "app's args to run with every write open"
            )

    @property
    def enabled(self) -> bool:
        return self._key is not None

    @property
    def writes(self) -> str:
        """``keyed`` or ``open`` (no key, allowed by ``allow_open_writes``)."""
        return "keyed" if self._key is not None else "open"

    def check(self, credentials: HTTPAuthorizationCredentials | None) -> None:
        """Return when allowed; 401 without a bearer token, 403 with a wrong one."""
        if self._key is None:
            return
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise ApiError(
                401,
                "Authorization",
                "a bearer token is required (Authorization: Bearer <key>)",
                {"WWW-Authenticate": "Bearer"},
            )
        if not hmac.compare_digest(credentials.credentials.encode(), self._key):
            raise ApiError(403, "Authorization", "the bearer token is not valid")

    def check_read(self, credentials: HTTPAuthorizationCredentials | None) -> None:
        """:meth:`check` when reads are protected, else allow."""
        if self.protect_reads:
            self.check(credentials)
