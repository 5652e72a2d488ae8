"""What the API shows of the trading layer: a signal's position, the books, the targets.

Plain JSON-ready dicts built from the desk and its stored history, so the HTTP layer only
forwards them. Times are ISO-8601 UTC; bars are shown by their open time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from models.data.times import iso_ms
from models.trading.book import Book, EquityPoint
from models.trading.desk import BOOKS, PAPER, Desk
from models.trading.expected import Estimate
from models.trading.metrics import max_drawdown, periods_per_year, sharpe
from models.trading.rule import Decision


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def signal_fields(
    desk: Desk, symbol: str, estimate: Estimate | None, decision: Decision, cost_bps: float
) -> dict[str, Any]:
    """``expected_return_bps``, ``expected_return_se_bps`` and ``position`` of an answer."""
    held = desk.books[PAPER].positions.get(symbol)
    exposure = desk.books[PAPER].exposure().get(symbol, 0.0)
    if decision.action in ("open", "flip"):
        target = decision.side * decision.size
    elif decision.action in ("hold", "renew"):
        target = exposure
    else:
        target = 0.0
    side = "long" if target > 0 else "short" if target < 0 else "flat"
    return {
        "expected_return_bps": None if estimate is None else estimate.mu_bps,
        "expected_return_se_bps": None if estimate is None else estimate.se_bps,
        "position": {
            "target": target,
            "side": side,
            "action": decision.action,
            "reason": decision.reason,
            "held": exposure if held is not None else 0.0,
            "certified": desk.certificate.passed(symbol),
            "cost_bps": cost_bps,
            "book": PAPER,
            "until": iso_ms(decision.expiry_bar * desk.step_ms) if decision.expiry_bar else None,
        },
    }


def positions(desk: Desk, book: Book) -> list[dict[str, Any]]:
    """The open positions of ``book`` marked at their newest closes."""
    equity = book.equity()
    out = []
    for symbol, p in sorted(book.positions.items()):
        mark = book.marks[symbol]
        out.append(
            {
                "symbol": symbol,
                "side": "long" if p.quantity > 0 else "short",
                "quantity": p.quantity,
                "entry_price": p.entry_price,
                "mark": mark,
                "value": p.quantity * mark,
                "weight": p.quantity * mark / equity if equity > 0 else None,
                "unrealized_pnl": p.quantity * (mark - p.entry_price) - p.entry_fee,
                "opened_at": iso_ms(p.opened_ms),
                "until": iso_ms(p.expiry_bar * desk.step_ms),
                "reason": p.reason,
            }
        )
    return out


def book_view(desk: Desk, name: str, history: Sequence[EquityPoint], trades: int) -> dict[str, Any]:
    """``GET /v1/portfolio`` of one book: equity, cash, positions, exposure, P&L, drawdown
    and Sharpe so far, against buy-and-hold of the same symbols (``history``: its equity
    points since its start or reset, oldest first; ``trades``: its closed round trips)."""
    book = desk.books[name]
    initial = desk.settings.initial_cash
    equity = [initial, *(p.equity for p in history)]
    returns = np.asarray(equity[1:]) / np.asarray(equity[:-1]) - 1.0
    bench = [initial, *(p.benchmark for p in history if p.benchmark is not None)]
    now = book.equity()
    last = history[-1] if history else None
    return {
        "book": name,
        "as_of": iso_ms(desk.last_bar_ms),
        "equity": now,
        "cash": book.cash,
        "pnl": now - initial,
        "return": now / initial - 1.0,
        "gross_exposure": last.gross if last else 0.0,
        "net_exposure": last.net if last else 0.0,
        "drawdown": 1.0 - now / max(equity) if equity else 0.0,
        "max_drawdown": max_drawdown(equity),
        "sharpe": _finite(sharpe(returns, periods_per_year(desk.step_ms))),
        "bars": len(history),
        "trades": trades,
        "positions": positions(desk, book),
        "buy_and_hold": {
            "equity": bench[-1],
            "return": bench[-1] / initial - 1.0,
            "max_drawdown": max_drawdown(bench),
        },
    }


def certificate_view(desk: Desk, symbols: Sequence[str]) -> dict[str, Any]:
    """The certificate of each evidence key the symbols trade under (one when pooled)."""
    keys = {desk.certificate.key(s): s for s in symbols}
    return {key: desk.certificate.status(symbol) for key, symbol in sorted(keys.items())}


def targets_view(desk: Desk, targets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``GET /v1/portfolio/targets``: what each book did at the newest bar, and why."""
    return {
        "as_of": iso_ms(desk.last_bar_ms),
        "books": {name: targets.get(name, {}) for name in BOOKS},
        "certificate": certificate_view(desk, sorted(desk.books[PAPER].start)),
    }
