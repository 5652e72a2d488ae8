"""A book's accounting: cash, positions, fills at the bar's close, fees, marks, equity.

- A fill happens at the close of the bar being processed, moved by the slippage against
  the trade (:meth:`Costs.fill_price`); never at any other bar's price.
- Every fill pays ``fee_bps`` of its notional once, from cash.
- Sizes are fractions of the equity marked at this bar's closes before any fill:
  ``quantity = weight * equity / close``.
- Positions are marked at the newest close of their symbol after every bar:
  ``equity = cash + sum(quantity * mark)``.
- A position is opened and closed whole (the rule never resizes one), so every close is
  one round trip whose net return is ``P&L after both fees / entry notional``.
Within a bar, closes fill before opens, symbols in name order: the result never depends
on the order quotes arrived in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from models.errors import TradingError
from models.trading.costs import Costs
from models.trading.portfolio import Target

BPS = 1e4


@dataclass
class Position:
    """An open position and what the rule remembers of it."""

    quantity: float
    entry_price: float
    entry_fee: float
    opened_ms: int
    expiry_bar: int
    conviction_bps: float
    reason: str

    @property
    def side(self) -> int:
        return 1 if self.quantity > 0 else -1


@dataclass(frozen=True)
class Fill:
    """One execution. A closing fill carries its round trip's ``pnl`` and return."""

    book: str
    bar_ms: int
    symbol: str
    action: str
    """``open`` or ``close``."""
    quantity: float
    """Signed: > 0 bought."""
    price: float
    fee: float
    reason: str
    pnl: float | None = None
    net_return_bps: float | None = None
    opened_ms: int | None = None
    """Closing fill: when its position was opened."""

    @property
    def notional(self) -> float:
        return abs(self.quantity) * self.price

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EquityPoint:
    """The book after one bar."""

    bar_ms: int
    equity: float
    cash: float
    gross: float
    """Sum of absolute marked positions over equity."""
    net: float
    """Sum of signed marked positions over equity."""
    traded: float
    """Notional filled at this bar over the equity before the fills (turnover)."""
    benchmark: float | None = None
    """Equal-weight buy-and-hold of the book's symbols, started with the same cash."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _price(value: float, symbol: str) -> float:
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise TradingError(f"close of {symbol}: must be a finite price > 0, got {value!r}")
    return float(value)


class Book:
    """Cash and positions of one book (module docstring)."""

    def __init__(self, name: str, costs: Costs, cash: float) -> None:
        self.name, self.costs, self.cash = name, costs, float(cash)
        self.initial = self.cash
        self.positions: dict[str, Position] = {}
        self.marks: dict[str, float] = {}
        self.start: dict[str, float] = {}
        """First close of each symbol of the benchmark basket (the book's first bar's)."""
        self.peak = self.cash
        """Highest equity after any bar (the drawdown's reference)."""

    def equity(self) -> float:
        """Cash plus every position at its mark (summed in symbol order: the same bits
        whatever order the positions were opened or restored in)."""
        held = sorted(self.positions.items())
        return self.cash + sum(p.quantity * self.marks[s] for s, p in held)

    def exposure(self) -> dict[str, float]:
        """Signed marked position of each held symbol over equity."""
        equity = self.equity()
        return {s: p.quantity * self.marks[s] / equity for s, p in sorted(self.positions.items())}

    def update_marks(self, closes: Mapping[str, float]) -> None:
        """Mark the symbols quoted at this bar at their closes."""
        for symbol, close in closes.items():
            self.marks[symbol] = _price(close, symbol)
        if not self.start:
            self.start = {s: self.marks[s] for s in sorted(closes)}

    def benchmark(self) -> float | None:
        """Equal-weight buy-and-hold of the book's first bar's symbols, at the newest marks,
        started with the book's initial cash."""
        if not self.start:
            return None
        growth = [self.marks[s] / c for s, c in self.start.items()]
        return self.initial * sum(growth) / len(growth)

    def execute(
        self, bar_ms: int, closes: Mapping[str, float], targets: Mapping[str, Target]
    ) -> list[Fill]:
        """Mark at ``closes``, then carry out ``targets`` at them; the fills, in order."""
        self.update_marks(closes)
        for symbol in targets:
            if symbol not in closes:
                raise TradingError(f"target for {symbol}: no close at bar {bar_ms}")
        equity = self.equity()
        fills = []
        for symbol, t in sorted(targets.items()):
            if t.action in ("close", "flip") and symbol in self.positions:
                fills.append(self._close(bar_ms, symbol, t.reason))
        for symbol, t in sorted(targets.items()):
            held = self.positions.get(symbol)
            if t.action in ("open", "flip") and held is None:
                fills.append(self._open(bar_ms, symbol, t, equity))
            elif t.action == "renew" and held is not None and t.expiry_bar is not None:
                held.expiry_bar, held.conviction_bps = t.expiry_bar, t.conviction_bps
        return fills

    def mark(self, bar_ms: int, fills: list[Fill], equity_before: float) -> EquityPoint:
        """The book after the bar's fills."""
        equity = self.equity()
        self.peak = max(self.peak, equity)
        values = [p.quantity * self.marks[s] for s, p in sorted(self.positions.items())]
        traded = sum(f.notional for f in fills) / equity_before if equity_before > 0 else 0.0
        return EquityPoint(
            bar_ms=bar_ms,
            equity=equity,
            cash=self.cash,
            gross=sum(abs(v) for v in values) / equity if equity > 0 else math.inf,
            net=sum(values) / equity if equity > 0 else math.inf,
            traded=traded,
            benchmark=self.benchmark(),
        )

    def _open(self, bar_ms: int, symbol: str, t: Target, equity: float) -> Fill:
        close = self.marks[symbol]
        quantity = t.weight * equity / close
        price = self.costs.fill_price(close, quantity)
        fee = self.costs.fee(quantity, price)
        self.cash -= quantity * price + fee
        self.positions[symbol] = Position(
            quantity, price, fee, bar_ms, int(t.expiry_bar or 0), t.conviction_bps, t.reason
        )
        return Fill(self.name, bar_ms, symbol, "open", quantity, price, fee, t.reason)

    def _close(self, bar_ms: int, symbol: str, reason: str) -> Fill:
        held = self.positions.pop(symbol)
        quantity = -held.quantity
        price = self.costs.fill_price(self.marks[symbol], quantity)
        fee = self.costs.fee(quantity, price)
        self.cash -= quantity * price + fee
        pnl = held.quantity * (price - held.entry_price) - held.entry_fee - fee
        net = pnl / (abs(held.quantity) * held.entry_price) * BPS
        return Fill(
            self.name,
            bar_ms,
            symbol,
            "close",
            quantity,
            price,
            fee,
            reason,
            pnl,
            net,
            held.opened_ms,
        )

    # state ---------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "cash": self.cash,
            "initial": self.initial,
            "positions": {s: asdict(p) for s, p in sorted(self.positions.items())},
            "marks": dict(sorted(self.marks.items())),
            "start": dict(self.start),
            "peak": self.peak,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        try:
            cash, initial, peak = (float(state[k]) for k in ("cash", "initial", "peak"))
            positions = {str(s): Position(**p) for s, p in state["positions"].items()}
            marks = {str(s): _price(v, str(s)) for s, v in state["marks"].items()}
            start = {str(s): _price(v, str(s)) for s, v in state["start"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise TradingError(f"book {self.name} state: malformed ({exc})") from None
        missing = sorted((set(positions) | set(start)) - set(marks))
        if missing or not all(math.isfinite(v) for v in (cash, initial, peak)):
            raise TradingError(f"book {self.name} state: unmarked symbols {missing} or cash")
        self.cash, self.initial, self.peak = cash, initial, peak
        self.positions, self.marks, self.start = positions, marks, start
