"""Settings of the serving application: what ``build_app`` accepts, validated once.

Everything here is plain data so it can travel as deployment constructor arguments and be
written in a Serve config YAML (``applications[].args``). Per-deployment runtime knobs that
may change without a restart (batch sizes, deadlines, registry path) live in each
deployment's ``user_config`` instead (see ``docs/serving.md``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from models.data.intervals import parse_interval
from models.errors import ConfigError
from models.feed.config import FeedSettings
from models.predictors.registry import PREDICTORS, served_window_bars
from models.registry.lifecycle import Lifecycle
from models.trading.config import TradingSettings

SYMBOL_PATTERN = r"^[A-Z0-9]{2,20}$"
SYMBOL_RE = re.compile(SYMBOL_PATTERN)


class AppSettings(BaseModel):
    """Application-wide settings (the ``args`` of ``deployments.app:build_app``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    registry: str | None = Field(None, description="model registry root (path or URI)")
    state_db: str = Field("smartmarket_state.db", description="SQLite file of the state")
    api_key_env: str = Field("SMARTMARKET_API_KEY", description="env var holding the API key")
    allow_open_writes: bool = Field(
        False, description="start without an API key, every write open (warned at each start)"
    )
    interval: str = Field(
        "1h", description="bar interval of every symbol the feed does not follow (1m, 1h, 1d)"
    )
    ensemble_config: str | None = Field(None, description="EnsembleConfig YAML file")
    max_candles: int = Field(5_000, ge=1, description="most candles one request may carry")
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="largest request body")
    window_bars: int = Field(512, ge=64, description="bars the predictors see (newest)")
    retain_bars: int = Field(20_000, ge=1, description="stored candles kept per symbol")
    retain_predictions: int = Field(
        20_000, ge=1, description="resolved predictions kept per symbol"
    )
    state_lock_wait_s: float = Field(
        15.0, ge=0, le=600, description="wait for the state file's previous writer to stop"
    )
    deadline_s: float = Field(2.0, gt=0, description="per-call deadline of every predictor")
    max_models_per_replica: int = Field(8, ge=1, description="LRU size of neural replicas")
    inference_precision: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="neural inference precision (auto: bf16 where it is fast)"
    )
    symbols: tuple[str, ...] | None = Field(None, description="allowed symbols (None: any)")
    retrain_after: timedelta | None = Field(
        None, gt=timedelta(0), description="retrain a model older than this (None: never)"
    )
    expire_after: timedelta | None = Field(
        None, gt=timedelta(0), description="do not use a model older than this (None: never)"
    )
    keep_versions: int | None = Field(
        None, ge=1, description="versions kept per model after a retraining (None: all)"
    )
    retrain_data: str | None = Field(
        None, description="data directory to retrain on (None: the stored candles)"
    )
    feed: FeedSettings | None = Field(None, description="live candle feed (None: off)")
    trading: TradingSettings = Field(
        default_factory=TradingSettings,
        description="costs, the position rule and the books (docs/trading.md); the books "
        "follow the feed's symbols",
    )
    predictors: tuple[str, ...] | None = Field(
        None, description="predictors to serve, registry names (None: every served entry)"
    )

    @field_validator("predictors")
    @classmethod
    def _known_predictors(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return value
        known = [e.name for e in PREDICTORS if e.served]
        unknown = [n for n in value if n not in known]
        if unknown or not value or len(set(value)) != len(value):
            raise ValueError(
                f"need distinct served predictor names ({', '.join(known)}), got {list(value)}"
            )
        return tuple(n for n in known if n in value)  # registry order

    def served_predictors(self) -> tuple[str, ...]:
        """Names of the predictors this app serves, in registry order."""
        return self.predictors or tuple(e.name for e in PREDICTORS if e.served)

    def fetch_bars(self) -> int:
        """Bars the service keeps in a window: ``window_bars``, or more when a served
        predictor needs more (its registry ``window_bars``)."""
        return served_window_bars(self.window_bars, self.served_predictors())

    @field_validator("symbols")
    @classmethod
    def _valid_symbols(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for symbol in value or ():
            if not SYMBOL_RE.match(symbol):
                raise ValueError(f"{symbol!r} does not match {SYMBOL_PATTERN}")
        return value

    @field_validator("interval")
    @classmethod
    def _valid_interval(cls, value: str) -> str:
        parse_interval(value, name="interval")
        return value

    def interval_us(self, symbol: str) -> int:
        """The bar interval of ``symbol`` in microseconds: the feed's when it follows the
        symbol, else the app's ``interval`` (one clock per symbol, whoever sends candles)."""
        if self.feed is not None and symbol in self.feed.symbols:
            return self.feed.interval_ms * 1000
        return parse_interval(self.interval) // timedelta(microseconds=1)

    def book_symbols(self) -> tuple[str, ...]:
        """The symbols the trading books follow: the feed's (none without a feed)."""
        return self.feed.symbols if self.feed is not None else ()

    def book_interval_ms(self) -> int:
        """The bar interval the books step at: the feed's, else the app's ``interval``."""
        if self.feed is not None:
            return self.feed.interval_ms
        return parse_interval(self.interval) // timedelta(milliseconds=1)

    def lifecycle(self) -> Lifecycle:
        """The retraining / expiry / purge policy these settings describe."""
        return Lifecycle(self.retrain_after, self.expire_after, self.keep_versions)

    @model_validator(mode="after")
    def _feed_symbols_allowed(self) -> AppSettings:
        if self.feed is not None:
            for symbol in self.feed.symbols:
                if not SYMBOL_RE.match(symbol):
                    raise ValueError(f"feed.symbols: {symbol!r} does not match {SYMBOL_PATTERN}")
                if self.symbols is not None and symbol not in self.symbols:
                    raise ValueError(f"feed.symbols: {symbol} is not in symbols")
        return self

    @classmethod
    def parse(cls, data: dict[str, Any] | None = None, **overrides: Any) -> AppSettings:
        """Validate ``data`` (plus ``overrides``); errors become :class:`ConfigError`."""
        try:
            return cls.model_validate({**(data or {}), **overrides})
        except ValidationError as exc:
            raise ConfigError(describe(exc, "app settings")) from None


def describe(exc: ValidationError, what: str) -> str:
    """One line per problem: ``what: field: reason``."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        lines.append(f"{what}: {where}: {err['msg']}")
    return "; ".join(lines)


def parse_section(model: type[BaseModel], data: Any, what: str) -> Any:
    """Validate a ``user_config`` section with ``model``; errors become ConfigError."""
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        raise ConfigError(describe(exc, what)) from None
