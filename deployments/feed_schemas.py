"""Response model of ``GET /v1/feed`` (in the OpenAPI schema; fields in docs/api.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class FeedSymbol(BaseModel):
    """Where the feed of one symbol stands."""

    state: Literal["starting", "backfilling", "following", "retrying"]
    last_bar: str | None = Field(None, description="open time of the newest stored bar (ISO)")
    last_bar_close: str | None = Field(None, description="when that bar closed (ISO)")
    lag_s: float | None = Field(None, description="wall clock minus last_bar_close, seconds")
    last_signal: str | None = Field(None, description="bar of the newest stored signal (ISO)")
    last_error: str | None = Field(None, description="the newest failure, kept after recovery")
    last_error_at: str | None = Field(None, description="when it happened (ISO)")
    bars_stored: int = Field(..., description="bars this replica stored since it started")
    signals_stored: int = Field(..., description="signals this replica stored since it started")
    rows_rejected: int = Field(..., description="malformed or out-of-order pages refused")
    retries: int = Field(..., description="failed polls since this replica started")


class FeedResponse(BaseModel):
    """``enabled`` false (and no symbols) when the app runs without a feed."""

    enabled: bool
    interval: str | None = None
    base_url: str | None = None
    symbols: dict[str, FeedSymbol] = Field(default_factory=dict)
