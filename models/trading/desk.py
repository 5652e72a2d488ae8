"""The trading desk: one step per closed bar, the same in the live service and the replay.

A step at bar ``t`` takes one :class:`Quote` per symbol that has a bar there (its close,
the score of its stored signal or None when degraded, and its trailing 1-bar volatility)
and, in this order:

1. **estimates** every symbol's expected return with the model as it was after bar
   ``t - 1`` (``market_neutral``: less the cross-sectional mean of the estimates);
2. **trades** both books at the bar's closes: the *shadow* book takes every trade the rule
   proposes, the *paper* book only those of symbols whose certificate (from the shadow
   book's trades closed before ``t``) has passed; rule (:mod:`.rule`), then the gross cap
   (:mod:`.portfolio`), then fills and marks (:mod:`.book`);
3. **certifies**: the shadow trades closed at ``t`` join the evidence (:mod:`.certificate`);
4. **learns** the outcomes known at ``t``: each earlier non-degraded signal of a symbol whose
   ``h`` bars have passed (the first bar of the symbol at least ``h`` bars after it), its
   realized simple return from its close to this one.

So what a ``/v1/predict`` answer says between two steps (:meth:`Desk.proposal`) is computed
with exactly the model the next step decides with. Everything is a function of the quotes
and the state, which round-trips through JSON exactly: a step replayed from a saved state
gives the same fills to the last bit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from models.errors import TradingError
from models.trading.book import Book, EquityPoint, Fill
from models.trading.certificate import Certificate, Look
from models.trading.config import TradingSettings
from models.trading.expected import Estimate, ExpectedReturnModel
from models.trading.portfolio import Target, allocate
from models.trading.rule import Decision, Holding, decide

PAPER, SHADOW = "paper", "shadow"
BOOKS: tuple[str, ...] = (PAPER, SHADOW)
STATE_FORMAT = 1


@dataclass(frozen=True)
class Quote:
    """One symbol at one bar, as the desk sees it."""

    close: float
    score: float | None
    """The stored signal's score; None: degraded or no signal (no trade on it)."""
    sigma: float
    """Trailing std of 1-bar log returns at the bar (NaN while unknown)."""

    def __post_init__(self) -> None:
        ok = isinstance(self.close, int | float) and math.isfinite(self.close)
        if not ok or self.close <= 0:
            raise TradingError(f"quote close: must be a finite price > 0, got {self.close!r}")
        if self.score is not None and not math.isfinite(self.score):
            raise TradingError(f"quote score: must be finite or None, got {self.score!r}")
        if not isinstance(self.sigma, int | float) or self.sigma < 0:
            raise TradingError(f"quote sigma: must be >= 0 or NaN, got {self.sigma!r}")


@dataclass(frozen=True)
class StepResult:
    """What one step did."""

    bar_ms: int
    estimates: dict[str, Estimate | None]
    targets: dict[str, dict[str, Target]]
    """Book -> symbol -> what it did there."""
    fills: list[Fill]
    equity: dict[str, EquityPoint]
    looks: dict[str, Look] = field(default_factory=dict)
    """Certificate looks this step triggered, by key (:meth:`Certificate.key`)."""
    missing: dict[str, str] = field(default_factory=dict)
    """Why a symbol has no estimate, for those without one."""


class Desk:
    """The expected-return model, the certificate and the two books (module docstring)."""

    def __init__(self, settings: TradingSettings, step_ms: int) -> None:
        if step_ms <= 0:
            raise TradingError(f"step_ms: must be > 0, got {step_ms}")
        self.settings, self.step_ms = settings, step_ms
        self.model = ExpectedReturnModel(
            settings.horizon_bars,
            settings.half_life_bars,
            settings.prior_outcomes,
            settings.min_outcomes,
        )
        self.certificate = Certificate(settings.certificate)
        self.books = {name: Book(name, settings.costs, settings.initial_cash) for name in BOOKS}
        self.pending: list[tuple[str, int, float, float, float]] = []
        """Signals awaiting their outcome: (symbol, bar, score, close, sigma)."""
        self.last_bar_ms: int | None = None
        self.cross_mean_bps = 0.0
        """The newest step's cross-sectional mean expected return (market_neutral)."""

    def bar(self, bar_ms: int) -> int:
        return bar_ms // self.step_ms

    # one step ------------------------------------------------------------------------
    def step(self, bar_ms: int, quotes: Mapping[str, Quote]) -> StepResult:
        """Estimate, trade, certify and learn at bar ``bar_ms`` (module docstring)."""
        if self.last_bar_ms is not None and bar_ms <= self.last_bar_ms:
            raise TradingError(
                f"bar {bar_ms}: the desk is already at bar {self.last_bar_ms} (one step a bar)"
            )
        estimates, missing = self.estimates(bar_ms, quotes)
        result = self.trade(bar_ms, quotes, estimates, missing)
        self._learn(self.bar(bar_ms), quotes)
        return result

    def estimates(
        self, bar_ms: int, quotes: Mapping[str, Quote]
    ) -> tuple[dict[str, Estimate | None], dict[str, str]]:
        """Each quoted symbol's estimate (None with the reason in the second mapping)."""
        bar = self.bar(bar_ms)
        out: dict[str, Estimate | None] = {}
        missing: dict[str, str] = {}
        for symbol, q in sorted(quotes.items()):
            out[symbol] = self._estimate(symbol, bar, q, missing)
        if self.settings.market_neutral:
            known = [e.mu_bps for e in out.values() if e is not None]
            self.cross_mean_bps = sum(known) / len(known) if known else 0.0
            out = {s: e.with_mu(e.mu_bps - self.cross_mean_bps) if e else e for s, e in out.items()}
        return out, missing

    def _estimate(
        self, symbol: str, bar: int, q: Quote, missing: dict[str, str]
    ) -> Estimate | None:
        if q.score is None:
            missing[symbol] = "degraded answer"
            return None
        if not (math.isfinite(q.sigma) and q.sigma > 0):
            missing[symbol] = "no trailing volatility yet"
            return None
        estimate = self.model.estimate(symbol, bar, q.score, q.sigma)
        if estimate is None:
            have = self.model.outcomes(bar)
            missing[symbol] = (
                f"expected return not estimated yet ({have:.0f} of "
                f"{self.settings.min_outcomes} outcomes)"
            )
        return estimate

    def trade(
        self,
        bar_ms: int,
        quotes: Mapping[str, Quote],
        estimates: Mapping[str, Estimate | None],
        missing: Mapping[str, str] | None = None,
    ) -> StepResult:
        """Steps 2 and 3 with ``estimates`` given (the replay of one symbol alone passes the
        estimates of the desk that followed every symbol)."""
        bar = self.bar(bar_ms)
        closes = {s: q.close for s, q in sorted(quotes.items())}
        cost = self.settings.costs.round_trip_bps
        targets, fills, equity = {}, [], {}
        for name, book in self.books.items():
            book.update_marks(closes)
            gate = self.certificate.passed if name == PAPER else None
            decisions = {
                s: self._decide(book, s, estimates.get(s), bar, cost, gate, missing or {})
                for s in closes
            }
            targets[name] = allocate(decisions, book.exposure(), self.settings)
            before = book.equity()
            done = book.execute(bar_ms, closes, targets[name])
            equity[name] = book.mark(bar_ms, done, before)
            fills += done
        looks = {}
        for fill in fills:
            if fill.book == SHADOW and fill.net_return_bps is not None:
                look = self.certificate.add(fill.symbol, fill.net_return_bps)
                if look is not None:
                    looks[self.certificate.key(fill.symbol)] = look
        self.last_bar_ms = bar_ms
        why = {s: (missing or {}).get(s, "no estimate") for s, e in estimates.items() if e is None}
        return StepResult(bar_ms, dict(estimates), targets, fills, equity, looks, why)

    def _decide(
        self,
        book: Book,
        symbol: str,
        estimate: Estimate | None,
        bar: int,
        cost: float,
        gate: Any,
        missing: Mapping[str, str],
    ) -> Decision:
        held = book.positions.get(symbol)
        holding = None if held is None else Holding(held.side, held.expiry_bar, held.conviction_bps)
        certified = True if gate is None else bool(gate(symbol))
        why = missing.get(symbol, "no estimate")
        return decide(holding, estimate, bar, cost, self.settings, certified=certified, missing=why)

    def _learn(self, bar: int, quotes: Mapping[str, Quote]) -> None:
        horizon = self.settings.horizon_bars
        keep = []
        for entry in self.pending:
            symbol, signal_bar, score, close, sigma = entry
            if symbol in quotes and bar >= signal_bar + horizon:
                realized = quotes[symbol].close / close - 1.0
                self.model.learn(symbol, bar, score, realized, sigma)
            else:
                keep.append(entry)
        for symbol, q in sorted(quotes.items()):
            if q.score is not None and math.isfinite(q.sigma) and q.sigma > 0:
                keep.append((symbol, bar, q.score, q.close, q.sigma))
        self.pending = keep

    # a reading between steps ---------------------------------------------------------
    def proposal(
        self, symbol: str, bar_ms: int, quote: Quote, cost_bps: float | None = None
    ) -> tuple[Estimate | None, Decision]:
        """The estimate of one signal and what the paper book's rule would do with it, at
        ``cost_bps`` round trip (default: the configured costs), before the gross cap."""
        bar = self.bar(bar_ms)
        missing: dict[str, str] = {}
        estimate = self._estimate(symbol, bar, quote, missing)
        ruled = estimate
        if estimate is not None and self.settings.market_neutral:
            ruled = estimate.with_mu(estimate.mu_bps - self.cross_mean_bps)
        cost = self.settings.costs.round_trip_bps if cost_bps is None else cost_bps
        gate = self.certificate.passed
        book = self.books[PAPER]
        decision = self._decide(book, symbol, ruled, bar, cost, gate, missing)
        return estimate, decision

    # state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything a restart needs, as JSON-ready data (floats round-trip exactly)."""
        return {
            "format": STATE_FORMAT,
            "step_ms": self.step_ms,
            "last_bar_ms": self.last_bar_ms,
            "model": self.model.state_dict(),
            "certificate": self.certificate.state_dict(),
            "books": {name: book.state_dict() for name, book in self.books.items()},
            "pending": [list(p) for p in self.pending],
            "cross_mean_bps": self.cross_mean_bps,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict` (with this desk's settings)."""
        if not isinstance(state, Mapping) or state.get("format") != STATE_FORMAT:
            got = state.get("format") if isinstance(state, Mapping) else type(state).__name__
            raise TradingError(f"desk state: format {got!r}, this code reads {STATE_FORMAT}")
        if state.get("step_ms") != self.step_ms:
            raise TradingError(
                f"desk state: saved for bars of {state.get('step_ms')} ms, not {self.step_ms}"
            )
        try:
            pending = [
                (str(s), int(b), float(x), float(c), float(v)) for s, b, x, c, v in state["pending"]
            ]
            last, mean = state["last_bar_ms"], float(state["cross_mean_bps"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise TradingError(f"desk state: malformed ({exc})") from None
        self.model.load_state_dict(state["model"])
        self.certificate.load_state_dict(state["certificate"])
        books = state.get("books")
        if not isinstance(books, Mapping) or set(books) != set(BOOKS):
            raise TradingError(f"desk state: need the books {list(BOOKS)}")
        for name, book in self.books.items():
            book.load_state_dict(books[name])
        self.pending, self.last_bar_ms, self.cross_mean_bps = pending, last, mean
