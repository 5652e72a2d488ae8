"""The HTTP API (FastAPI behind Ray Serve): validation, auth, and calls to the deployments.

Every request is checked here before any deployment is called (schemas, candle rules,
counts, symbol), so bad input costs no handle call and is a 4xx naming the field.
Endpoints and fields are documented in docs/api.md; OpenAPI is served at ``/docs``.
"""

import logging
import time
from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from ray import serve

from deployments.auth import ApiKeyAuth, bearer
from deployments.compat import enhanced_body
from deployments.compression import GzipReads
from deployments.feed_schemas import FeedResponse
from deployments.frames import candles_to_frame, frame_to_candles
from deployments.handles import Handle
from deployments.http_errors import ApiError, install, library_error
from deployments.limits import BodyLimit
from deployments.schemas import (
    AppendResponse,
    CandleIn,
    CandlesRequest,
    CandlesResponse,
    EnhancedRequest,
    EnhancedResponse,
    OutcomeRequest,
    PredictRequest,
    PredictResponse,
    ResetRequest,
)
from deployments.settings import SYMBOL_PATTERN, AppSettings
from deployments.ui import PLOTLY_ROUTE, dashboard, plotly_bundle
from models.data.clock import check_clock
from models.data.times import epoch_us, now_us
from models.errors import DataValidationError, SmartMarketError
from models.predictors.registry import predictor_entry
from models.serving.pipeline import required_bars
from models.serving.remote import gather_with_deadline, unwrap
from models.serving.replies import Reply
from models.trading.score import answer_score

app = FastAPI(
    title="SmartMarket",
    version="0.1.0",
    description="Trading signals from an ensemble of neural and rule-based predictors.",
    redirect_slashes=False,  # a stray "/" is a 404, not a 307 that a client may not follow
)
install(app)
app.add_middleware(BodyLimit)
app.add_middleware(GzipReads)

SymbolPath = Annotated[str, Path(pattern=SYMBOL_PATTERN, description="e.g. BTCUSDT")]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
MAX_HISTORY = 20_000
"""Most rows one history read returns (candles, resolved predictions for calibration)."""
Limit = Annotated[int, Query(ge=1, le=MAX_HISTORY, description="newest candles to return")]
Since = Annotated[
    datetime | None, Query(description="as_of at or after (ISO 8601, UTC if no offset)")
]
Until = Annotated[datetime | None, Query(description="as_of before (exclusive)")]
Page = Annotated[int, Query(ge=1, le=5_000, description="newest predictions to return")]
HEALTH_TIMEOUT_S = 5.0
ACTING = ("open", "flip", "renew")
"""Position actions that act on the signal (``actionable`` when certified)."""
logger = logging.getLogger("ray.serve")


def _us(value: datetime | None) -> int | None:
    """Microseconds since the epoch (a time without an offset is UTC)."""
    if value is None:
        return None
    return epoch_us(value)


def time_range(since: datetime | None, until: datetime | None) -> tuple[int | None, int | None]:
    """``since`` / ``until`` in microseconds; 422 naming ``since`` when it is not before."""
    lo, hi = _us(since), _us(until)
    if lo is not None and hi is not None and lo >= hi:
        raise ApiError(422, "since", f"must be before until ({since} >= {until})")
    return lo, hi


def require_key(request: Request, credentials: Credentials) -> None:
    """Dependency of the write endpoints (runs before the body is validated)."""
    request.app.state.auth.check(credentials)


WRITE = [Depends(require_key)]


def require_read_key(request: Request, credentials: Credentials) -> None:
    """Dependency of the read endpoints: a key only with ``SMARTMARKET_PROTECT_READS=1``."""
    request.app.state.auth.check_read(credentials)


READ = [Depends(require_read_key)]


async def call(response: Awaitable[Any], prefix: str = "") -> Any:
    """Await a handle call; our library's errors (returned or raised remotely) become
    4xx answers."""
    try:
        result = await response
    except Exception as exc:
        cause = unwrap(exc)
        if isinstance(cause, SmartMarketError):
            raise library_error(cause, prefix) from None
        raise
    if isinstance(result, SmartMarketError):
        raise library_error(result, prefix)
    return result


@serve.deployment(
    ray_actor_options={"num_cpus": 0.25}, max_ongoing_requests=256, max_queued_requests=512
)
@serve.ingress(app)
class Ingress:
    def __init__(
        self,
        ensemble: Handle,
        state: Handle,
        predictors: Mapping[str, Handle],
        regime: Handle,
        settings: dict[str, Any] | None = None,
        retrainer: Handle | None = None,
        feed: Handle | None = None,
    ) -> None:
        """``predictors``: name -> handle of every served predictor (registry names)."""
        self.settings = AppSettings.parse(settings)
        self.feed = feed
        self.ensemble, self.state = ensemble, state
        self.trained = {n: h for n, h in predictors.items() if predictor_entry(n).trained}
        others = {**predictors, "regime": regime}
        if retrainer is not None:  # pinged by /healthz, which also starts its timer
            others["retrainer"] = retrainer
        self.pingable = {"ensemble": ensemble, "state": state, **others}
        self.auth = app.state.auth = ApiKeyAuth(
            self.settings.api_key_env, self.settings.allow_open_writes
        )
        if not self.auth.enabled:
            logger.warning(
                "SmartMarket is running with every write OPEN: $%s is empty and "
                "allow_open_writes is true; anyone who reaches the API can store candles",
                self.settings.api_key_env,
            )
        self.min_bars = required_bars()
        app.state.max_body_bytes = self.settings.max_body_bytes
        self._learned_version = 0
        """Newest learned-state version a state write returned here: predictions combine
        with at least this state (the outcomes a client's candles resolved)."""

    # helpers -------------------------------------------------------------------------
    def _symbol(self, symbol: str) -> str:
        allowed = self.settings.symbols
        if allowed is not None and symbol not in allowed:
            raise ApiError(404, "symbol", f"unknown symbol {symbol}; known: {', '.join(allowed)}")
        return symbol

    def _frame(
        self, symbol: str, candles: Sequence[CandleIn], minimum: int, *, closed: bool
    ) -> pl.DataFrame:
        """The request's candles as a frame on ``symbol``'s clock (``closed``: every bar has
        closed, for what is stored); 422 naming ``candles`` otherwise."""
        n, cap = len(candles), self.settings.max_candles
        if n > cap:
            raise ApiError(422, "candles", f"{n} candles sent; at most {cap} per request")
        if n < minimum:
            raise ApiError(422, "candles", f"{n} candles sent; at least {minimum} are needed")
        try:
            frame = candles_to_frame(candles)
            check_clock(frame, self.settings.interval_us(symbol), now_us(), closed=closed)
        except DataValidationError as exc:
            raise library_error(exc, "candles") from None
        return frame

    def _saw(self, result: dict[str, Any]) -> dict[str, Any]:
        """Remember the newest learned-state version a state write returned."""
        if isinstance(result, dict):
            seen = int(result.get("learned_version", 0))
            self._learned_version = max(self._learned_version, seen)
        return result

    async def _predict(
        self, symbol: str, frame: pl.DataFrame, stored: bool, min_version: int = 0
    ) -> dict[str, Any]:
        """The ensemble's answer on ``frame``; ``stored``: the frame is the stored series
        (the answer is stored, one per bar, and learned from when it resolves)."""
        version = max(min_version, self._learned_version)
        request = self.ensemble.predict.remote(symbol, frame, stored, version)
        result: dict[str, Any] | BaseException = await call(request)
        if isinstance(result, BaseException):
            cause = unwrap(result)
            if isinstance(cause, SmartMarketError):
                raise library_error(cause, "candles")
            raise cause
        return result

    async def _stored_signal(self, symbol: str) -> dict[str, Any]:
        """The signal of the newest stored bar: read back when it was made (by the feed or
        an earlier request), else made now on the stored window and stored, once per bar
        (when two requests race, both answer with the one the store kept)."""
        found = await call(self.state.newest_signal.remote(symbol, self.settings.fetch_bars()))
        if "answer" in found:
            return {**found["answer"], "timings_ms": {}}
        window: pl.DataFrame = found["window"]
        if window.height < self.min_bars:
            raise ApiError(
                409,
                "symbol",
                f"{symbol} has {window.height} stored candles; at least {self.min_bars} are "
                f"needed: load history with POST /v1/candles/{symbol}",
            )
        answer = await self._predict(symbol, window, True, int(found["learned_version"]))
        as_of = int(window["timestamp"].dt.epoch("us")[-1])
        kept = await self.state.stored_answer.remote(symbol, as_of)
        if kept is None or kept.get("prediction_id") == answer["prediction_id"]:
            return answer
        return {**kept, "timings_ms": {}}

    # predictions ---------------------------------------------------------------------
    @app.post("/v1/predict", response_model=PredictResponse, tags=["predict"], dependencies=READ)
    async def predict(self, body: PredictRequest) -> dict[str, Any]:
        """The signal for a symbol: without ``candles``, that of its newest stored bar (the
        feed's, made once per bar); with them, one on the candles sent (never stored)."""
        started = time.perf_counter()
        symbol = self._symbol(body.symbol)
        closes = None
        if body.candles is None:
            answer = await self._stored_signal(symbol)
        else:
            frame = self._frame(symbol, body.candles, self.min_bars, closed=False)
            answer = await self._predict(symbol, frame, False)
            closes = frame["close"].tail(self.settings.trading.vol_window + 1).to_list()
        await self._position(symbol, answer, closes, body.cost_bps)
        answer["latency_ms"] = (time.perf_counter() - started) * 1000.0
        return answer

    async def _position(
        self,
        symbol: str,
        answer: dict[str, Any],
        closes: list[float] | None,
        cost_bps: float | None,
    ) -> None:
        """The trading layer's fields in the answer; ``actionable`` becomes its verdict."""
        as_of = epoch_us(datetime.fromisoformat(str(answer["as_of"])))
        request = self.state.trading_answer.remote(
            symbol, as_of, answer_score(answer), closes, cost_bps
        )
        fields = await call(request)
        answer.update(fields)
        position = fields["position"]
        if position is not None:
            acted = position["certified"] and position["action"] in ACTING
            if not acted:
                answer["reasons"] = [*answer.get("reasons", []), f"position: {position['reason']}"]
            answer["actionable"] = acted

    @app.post(
        "/enhanced/predict", response_model=EnhancedResponse, tags=["predict"], dependencies=WRITE
    )
    async def enhanced_predict(self, body: EnhancedRequest) -> dict[str, Any]:
        """Original-service endpoint: append one closed bar to the stored history (a write:
        the key is required), then answer the stored series' signal for it."""
        symbol = self._symbol(body.symbol)
        request = self.state.append_bar.remote(symbol, body.features.model_dump(), 1, now_us())
        self._saw((await call(request, "features"))[1])
        return enhanced_body(await self._stored_signal(symbol))

    # candles and outcomes ------------------------------------------------------------
    @app.post(
        "/v1/candles/{symbol}",
        response_model=AppendResponse,
        status_code=201,
        tags=["state"],
        dependencies=WRITE,
    )
    async def append_candles(self, body: CandlesRequest, symbol: SymbolPath) -> dict[str, Any]:
        """Append closed candles after the stored history, on the symbol's clock
        (duplicates, overlaps, other intervals and unclosed bars are refused)."""
        symbol = self._symbol(symbol)
        frame = self._frame(symbol, body.candles, 1, closed=True)
        return self._saw(await call(self.state.append_candles.remote(symbol, frame)))

    @app.get(
        "/v1/candles/{symbol}", response_model=CandlesResponse, tags=["state"], dependencies=READ
    )
    async def read_candles(self, symbol: SymbolPath, limit: Limit = 500) -> dict[str, Any]:
        """The newest ``limit`` stored candles, oldest first."""
        frame = await call(self.state.candles.remote(self._symbol(symbol), limit))
        return {"symbol": symbol, "count": frame.height, "candles": frame_to_candles(frame)}

    @app.post("/v1/outcomes", tags=["state"], dependencies=WRITE)
    async def record_outcome(self, body: OutcomeRequest) -> dict[str, Any]:
        """Report the realized log return of a prediction; updates weights and thresholds."""
        request = self.state.record_outcome.remote(body.prediction_id, body.realized_return)
        return self._saw(await call(request))

    @app.get("/v1/performance/{symbol}", tags=["state"], dependencies=READ)
    async def performance(self, symbol: SymbolPath) -> dict[str, Any]:
        """Per-model accuracy and weights, the adaptive threshold, prediction counts."""
        answer: dict[str, Any] = await call(self.state.performance.remote(self._symbol(symbol)))
        return answer

    # history views (the dashboard's data) ------------------------------------------
    @app.get("/v1/symbols", tags=["state"], dependencies=READ)
    async def symbols(self) -> dict[str, Any]:
        """Symbols with stored candles and how many each has."""
        stored = await call(self.state.symbols.remote())
        return {"symbols": [{"symbol": s, "candles": n} for s, n in sorted(stored.items())]}

    @app.get("/v1/predictions/{symbol}", tags=["state"], dependencies=READ)
    async def predictions(
        self, symbol: SymbolPath, since: Since = None, until: Until = None, limit: Page = 500
    ) -> dict[str, Any]:
        """Stored predictions (newest ``limit`` in range, oldest first) with outcomes."""
        lo, hi = time_range(since, until)
        request = self.state.predictions.remote(self._symbol(symbol), lo, hi, limit)
        answer: dict[str, Any] = await call(request)
        return answer

    @app.get("/v1/calibration/{symbol}", tags=["state"], dependencies=READ)
    async def calibration(
        self,
        symbol: SymbolPath,
        limit: Annotated[
            int, Query(ge=1, le=MAX_HISTORY, description="newest resolved")
        ] = MAX_HISTORY,
        bins: Annotated[int, Query(ge=2, le=50, description="buckets over [0, 1]")] = 10,
    ) -> dict[str, Any]:
        """Reliability and accuracy by confidence bucket of resolved predictions."""
        request = self.state.calibration.remote(self._symbol(symbol), limit, bins)
        answer: dict[str, Any] = await call(request)
        return answer

    @app.get("/v1/weights/{symbol}", tags=["state"], dependencies=READ)
    async def weights(
        self, symbol: SymbolPath, since: Since = None, until: Until = None, limit: Page = 500
    ) -> dict[str, Any]:
        """Each member's weight in the combined score at every stored prediction in range."""
        lo, hi = time_range(since, until)
        request = self.state.weights.remote(self._symbol(symbol), lo, hi, limit)
        answer: dict[str, Any] = await call(request)
        return answer

    # trading books -------------------------------------------------------------------
    @app.get("/v1/portfolio", tags=["trading"], dependencies=READ)
    async def portfolio(self) -> dict[str, Any]:
        """Both books (paper, shadow): equity, cash, positions, exposure, P&L, drawdown and
        Sharpe so far against buy-and-hold of the same symbols; the certificate."""
        answer: dict[str, Any] = await call(self.state.portfolio.remote())
        return answer

    @app.get("/v1/portfolio/targets", tags=["trading"], dependencies=READ)
    async def portfolio_targets(self) -> dict[str, Any]:
        """What each book did for each followed symbol at the newest bar, and why."""
        answer: dict[str, Any] = await call(self.state.portfolio_targets.remote())
        return answer

    @app.get("/v1/portfolio/equity", tags=["trading"], dependencies=READ)
    async def portfolio_equity(self, limit: Limit = 2000) -> dict[str, Any]:
        """The newest ``limit`` equity points of each book, with buy-and-hold."""
        answer: dict[str, Any] = await call(self.state.portfolio_equity.remote(limit))
        return answer

    @app.get("/v1/trades", tags=["trading"], dependencies=READ)
    async def trades(
        self,
        book: Annotated[Literal["paper", "shadow"], Query(description="the book")] = "paper",
        before: Annotated[int | None, Query(ge=1, description="fills numbered below")] = None,
        limit: Annotated[int, Query(ge=1, le=1000, description="fills per page")] = 100,
    ) -> dict[str, Any]:
        """A book's fills, newest first; page on with ``before`` = ``next_before``."""
        answer: dict[str, Any] = await call(self.state.trades.remote(book, before, limit))
        return answer

    @app.post("/v1/portfolio/reset", tags=["trading"], dependencies=WRITE)
    async def reset_books(self, body: ResetRequest) -> dict[str, Any]:
        """Start a book (or ``all``) again with its initial cash: a write, the key is
        required. The expected-return model and the certificate's evidence stay."""
        answer: dict[str, Any] = await call(self.state.reset_books.remote(body.book))
        return answer

    # dashboard -----------------------------------------------------------------------
    @app.get("/ui", response_class=HTMLResponse, tags=["ui"])
    async def ui(self) -> HTMLResponse:
        """The dashboard: a static page with no data of its own (open, so a browser can
        load it); its data comes from the read endpoints above, with the key it asks for
        once when reads are protected."""
        return dashboard()

    @app.get(PLOTLY_ROUTE, tags=["ui"], include_in_schema=False)
    async def plotly_js(self, request: Request) -> Response:
        return plotly_bundle(request)

    # models and health ---------------------------------------------------------------
    @app.get("/v1/models", tags=["models"], dependencies=READ)
    async def models(self) -> dict[str, Any]:
        """Per symbol and model: registry versions, LATEST, and the version loaded."""
        described = {n: await call(h.describe.remote()) for n, h in self.trained.items()}
        out: dict[str, dict[str, Any]] = {}
        for name, info in described.items():
            symbols = set(info["versions"]) | set(info["loaded"])
            for symbol in sorted(symbols):
                out.setdefault(symbol, {})[name] = {
                    "versions": info["versions"].get(symbol, []),
                    "latest": info["latest"].get(symbol),
                    "loaded": info["loaded"].get(symbol),
                    "status": info.get("status", {}).get(symbol, "no_model"),
                    "created_at": info.get("created_at", {}).get(symbol),
                    "retraining": info.get("retraining", {}).get(symbol),
                }
        registries = {n: info["registry"] for n, info in described.items()}
        return {"models": out, "registry": registries}

    @app.post("/v1/models/reload", tags=["models"], dependencies=WRITE)
    async def reload(self) -> dict[str, Any]:
        """Load newly published versions without a restart."""
        return {"reloaded": {n: await call(h.reload.remote()) for n, h in self.trained.items()}}

    @app.get("/v1/feed", response_model=FeedResponse, tags=["feed"], dependencies=READ)
    async def feed_status(self) -> dict[str, Any]:
        """Per followed symbol: the newest stored bar, its lag, the feed's state and error."""
        if self.feed is None:
            return {"enabled": False, "symbols": {}}
        answer: dict[str, Any] = await call(self.feed.status.remote())
        return answer

    @app.get("/healthz", tags=["health"])
    async def healthz(self) -> JSONResponse:
        """200 when every deployment answers, 503 naming those that do not."""
        calls = {name: h.ping.remote() for name, h in self.pingable.items()}
        results = await gather_with_deadline(calls, HEALTH_TIMEOUT_S)
        status = {n: r.status if isinstance(r, Reply) else "ok" for n, r in results.items()}
        healthy = all(s == "ok" for s in status.values())
        payload = {
            "status": "ok" if healthy else "unhealthy",
            "deployments": status,
            "writes": self.auth.writes,
        }
        return JSONResponse(payload, status_code=200 if healthy else 503)
