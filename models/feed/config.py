"""Settings of the live candle feed (``feed`` in the app's ``args``), validated once.

Plain data so they travel as deployment arguments and sit in a Serve config YAML. Polling
is aligned to bar close: the next poll is ``poll_delay_s`` after the next bar's close by the
exchange's clock, but never later than ``poll_max_s`` (which also bounds how long a bar
can wait when the exchange's clock runs faster than ours, as the test exchange's does).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.data.intervals import parse_interval

BINANCE_REST = "https://api.binance.com"
MAX_PAGE = 1000
"""Binance answers at most 1,000 klines per request."""


class FeedSettings(BaseModel):
    """What the feed follows and how it talks to the exchange."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbols: tuple[str, ...] = Field(..., min_length=1, description="symbols followed")
    interval: str = Field("1h", description="kline interval (Binance spelling: 1m, 1h, 1d)")
    base_url: str = Field(BINANCE_REST, description="REST base URL of the exchange")
    backfill_bars: int = Field(1000, ge=1, le=100_000, description="history loaded when none")
    page_limit: int = Field(MAX_PAGE, ge=1, le=MAX_PAGE, description="klines per request")
    signal_catchup_bars: int = Field(
        168, ge=0, description="after downtime, the newest bars that still get a signal"
    )
    poll_delay_s: float = Field(1.0, ge=0, description="poll this long after a bar closes")
    poll_max_s: float = Field(60.0, gt=0, description="longest wait between polls")
    request_timeout_s: float = Field(10.0, gt=0, description="one request; longer is a stall")
    backoff_base_s: float = Field(1.0, gt=0, description="first retry delay")
    backoff_max_s: float = Field(60.0, gt=0, description="longest retry delay")
    retry_after_max_s: float = Field(600.0, gt=0, description="cap on an exchange Retry-After")
    max_pages_per_cycle: int = Field(200, ge=1, description="bound on one catch-up")

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        parse_interval(value, name="feed.interval")
        return value

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @property
    def interval_ms(self) -> int:
        return int(parse_interval(self.interval) / timedelta(milliseconds=1))
