"""HTTP request and response bodies (the API contract; see docs/api.md).

Requests reject unknown fields, wrong types (numbers must be JSON numbers), NaN and
infinities, and non-positive prices; cross-field rules (high below low, order of
timestamps) are checked on the candle frame by ``models.data.validate_ohlcv`` so the
message names the row and the column.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from deployments.settings import SYMBOL_PATTERN

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
MAX_PRICE = 1e15
MAX_VOLUME = 1e18
# Finite but huge values overflow the indicators (squares past 1e154 are inf), so they are
# refused here with the field named instead of failing a predictor deep in the ensemble.
Price = Field(gt=0, le=MAX_PRICE, strict=True, description=f"> 0, <= {MAX_PRICE:g}")
Volume = Field(ge=0, le=MAX_VOLUME, strict=True, description=f">= 0, <= {MAX_VOLUME:g}")
# What the document says a request timestamp may be: pydantic's datetime also takes Unix
# seconds / milliseconds, which its generated schema (string only) would leave out.
Timestamp = Annotated[
    datetime,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date-time"},
                {"type": "number", "description": "Unix seconds or milliseconds"},
            ]
        }
    ),
]
Symbol = Field(pattern=SYMBOL_PATTERN, description="e.g. BTCUSDT", examples=["BTCUSDT"])
PredictionId = Field(pattern=r"^[0-9a-f]{32}$", description="as returned by a prediction")


class CandleIn(BaseModel):
    """One candle; ``timestamp`` is ISO 8601 (naive means UTC) or Unix seconds/milliseconds."""

    model_config = _STRICT

    timestamp: Timestamp
    open: float = Price
    high: float = Price
    low: float = Price
    close: float = Price
    volume: float = Volume


class PredictRequest(BaseModel):
    """A symbol alone asks for the service's signal of its newest stored bar (made once per
    bar, learned from when it resolves); with candles, the signal on those candles
    (answered, never stored nor learned from)."""

    model_config = _STRICT

    symbol: str = Symbol
    candles: list[CandleIn] | None = Field(
        None, min_length=1, description="oldest first; omit for the stored series' signal"
    )
    cost_bps: float | None = Field(
        None,
        ge=0,
        le=1000,
        strict=True,
        description="round-trip cost in bps the answer's position is decided at (default: "
        "the service's trading.fee_bps and slippage_bps)",
    )


class CandlesRequest(BaseModel):
    model_config = _STRICT

    candles: list[CandleIn] = Field(min_length=1, description="oldest first")


class BarIn(BaseModel):
    """The one new bar of ``/enhanced/predict``; no timestamp: one step after the last."""

    model_config = _STRICT

    open: float = Price
    high: float = Price
    low: float = Price
    close: float = Price
    volume: float = Volume
    timestamp: Timestamp | None = None


class EnhancedRequest(BaseModel):
    model_config = _STRICT

    symbol: str = Symbol
    features: BarIn
    sequence_length: int = Field(60, ge=1, strict=True, description="bars of stored history")


class OutcomeRequest(BaseModel):
    model_config = _STRICT

    prediction_id: str = PredictionId
    realized_return: float = Field(strict=True, ge=-10, le=10, description="log return")


class Probabilities(BaseModel):
    down: float
    flat: float
    up: float


class RegimeOut(BaseModel):
    name: str
    confidence: float
    transition_probability: float


class ModelOut(BaseModel):
    status: str = Field(description="ok, no_model, insufficient_data, timeout or error: ...")
    probabilities: Probabilities | None
    confidence: float | None
    weight: float
    version: str | None


class ExpertOut(BaseModel):
    probabilities: Probabilities
    weight: float | None = Field(
        description="signed, normalised weight in the combined score at this bar (0: left out)"
    )


class PositionOut(BaseModel):
    """What the paper book's rule does with this signal (docs/trading.md)."""

    target: float = Field(description="wanted position, fraction of equity, signed")
    side: Literal["long", "short", "flat"]
    action: Literal["open", "flip", "renew", "hold", "close", "flat"]
    reason: str
    held: float = Field(description="the paper book's current position, fraction of equity")
    certified: bool = Field(description="the rule's own past trades certify it (shadow book)")
    cost_bps: float = Field(description="the round-trip cost it was decided at")
    book: str
    until: datetime | None = Field(description="the bar a position opened now is held to")


class ResetRequest(BaseModel):
    model_config = _STRICT

    book: Literal["paper", "shadow", "all"] = Field(description="the book(s) to start again")


class PredictResponse(BaseModel):
    prediction_id: str
    symbol: str
    as_of: datetime
    horizon_bars: int
    signal: Literal["STRONG_BUY", "BUY", "HOLD", "SELL", "STRONG_SELL"]
    probabilities: Probabilities
    confidence: float
    quality: Literal["EXCELLENT", "GOOD", "FAIR", "POOR"]
    actionable: bool = Field(
        description="the position rule trades on this signal (opens, flips or renews) and its "
        "past trades after costs are certified (docs/trading.md)"
    )
    regime: RegimeOut | None
    models: dict[str, ModelOut]
    degraded: bool = Field(
        description="a model or the regime was unavailable (failed/late), or fewer than "
        "min_models members answered"
    )
    unavailable: dict[str, str] = Field(description="what was unavailable, and why")
    no_model: list[str] = Field(description="neural models without a trained model")
    threshold: float
    coverage: float
    agreement: float
    reasons: list[str]
    experts: dict[str, ExpertOut] = Field(
        default_factory=dict,
        description="learned ensemble: every member that answered, with its probabilities "
        "and its weight in the combined score",
    )
    score: float | None = Field(
        None,
        description="learned ensemble: the combined score of the members' standardized "
        "outputs (unit variance; > 0 leans up), what the probabilities tilt the base rate by",
    )
    created_at: datetime
    source: Literal["stored", "request"] = Field(
        description="stored: the signal of the stored series' newest bar (the same for every "
        "client, learned from when it resolves); request: made on the candles sent, "
        "answered only"
    )
    expected_return_bps: float | None = Field(
        description="expected simple return over the horizon, bps (none while not estimated)"
    )
    expected_return_se_bps: float | None = Field(description="its standard error, bps")
    position: PositionOut | None
    latency_ms: float = Field(description="time spent in the service (ingress to answer)")
    timings_ms: dict[str, float] = Field(
        description="ensemble stages of the batch this request was in (and its batch_size); "
        "empty when the answer was read back from the store"
    )


class EnhancedResponse(BaseModel):
    """The original service's response fields (plus ``prediction_id``)."""

    symbol: str
    prediction: float = Field(description="P(up) - P(down), in [-1, 1]")
    confidence: float
    signal_valid: bool
    quality_score: float = Field(description="EXCELLENT 1.0, GOOD 0.75, FAIR 0.5, POOR 0.25")
    recommendation: str
    market_regime: str | None
    regime_strength: float | None
    model_predictions: dict[str, float | None]
    confidence_breakdown: dict[str, Any]
    prediction_time: datetime
    enhanced: bool
    prediction_id: str


class CandleOut(BaseModel):
    timestamp: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


class CandlesResponse(BaseModel):
    symbol: str
    count: int
    candles: list[CandleOut]


class AppendResponse(BaseModel):
    symbol: str
    appended: int
    last_timestamp: datetime | None
    resolved: list[str] = Field(description="pending predictions resolved by these candles")
