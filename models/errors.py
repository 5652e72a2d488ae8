"""Exception types of SmartMarket.

Every user-facing failure raises one of these, so callers (the HTTP layer, the
command-line scripts) can turn it into a clear 4xx / non-zero exit instead of a traceback.
"""

from __future__ import annotations


class SmartMarketError(Exception):
    """Base class of every error this project raises on purpose."""


class DataValidationError(SmartMarketError, ValueError):
    """Market data that cannot be used as it is.

    Carries where the problem is (``source`` file, ``row``, ``column``) and ``reason``
    so the message can name all of them.
    """

    def __init__(
        self,
        reason: str,
        *,
        source: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.reason = reason
        self.source = source
        self.row = row
        self.column = column
        parts = []
        if source is not None:
            parts.append(f"file {source}")
        if row is not None:
            parts.append(f"row {row}")
        if column is not None:
            parts.append(f"column {column!r}")
        where = ", ".join(parts)
        super().__init__(f"{where}: {reason}" if where else reason)


class InsufficientDataError(SmartMarketError, ValueError):
    """A window shorter than a predictor / detector needs."""

    def __init__(
        self, needed: int, got: int, what: str = "window", reason: str | None = None
    ) -> None:
        self.needed = needed
        self.got = got
        super().__init__(reason or f"{what} has {got} bars; at least {needed} are needed")


class UnknownPredictorError(SmartMarketError, KeyError):
    """A predictor name that is not registered."""

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0]) if self.args else "unknown predictor"


class ModelNotFoundError(SmartMarketError, FileNotFoundError):
    """No artifact for (symbol, model, version) in the registry."""


class CorruptModelError(SmartMarketError):
    """An artifact exists but is incomplete or fails its integrity check."""


class ConfigError(SmartMarketError, ValueError):
    """Invalid configuration (file, environment or arguments)."""


class EnsembleInputError(SmartMarketError, ValueError):
    """A signal record, realized outcome or ensemble state the ensemble cannot use."""


class DownloadError(SmartMarketError):
    """A remote archive that could not be fetched, does not exist, or fails its checksum.

    ``url`` is the address involved and ``status`` the HTTP status when there was one
    (404 means the archive does not exist), so callers can tell "unknown symbol" from an
    outage without parsing the message.
    """

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None):
        self.url = url
        self.status = status
        super().__init__(message)


class NotFoundError(SmartMarketError, LookupError):
    """A record the request names does not exist (a prediction id, a symbol's history)."""


class ConflictError(SmartMarketError):
    """A request that contradicts the stored state: an outcome for a prediction that is
    already resolved, or a prediction on a stored history that is still too short."""


class RetrainError(SmartMarketError):
    """A scheduled retraining ended without publishing a version."""


class FeedError(SmartMarketError):
    """The exchange feed could not get usable klines this time (connection dropped or
    stalled, rate limited, a 5xx, a malformed answer). The feed retries after
    ``retry_after`` seconds when the exchange said how long (429 / 418 ``Retry-After``),
    else after its own backoff; ``status`` is the HTTP status when there was one."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


class StateLockedError(ConfigError):
    """The state file is already open for writing by another process (one writer per file)."""


class TradingError(SmartMarketError, ValueError):
    """A quote, bar or stored book the trading layer cannot use (a price that is not a
    positive number, a bar older than the book's last one, a state saved for other
    settings): refused with the field and the reason, never traded on."""
