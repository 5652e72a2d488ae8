"""The report's section on the trading layer's books (``book.csv``), generated from the table."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from models.evaluation.markdown import table

BOOK_FMT = {
    "cost_bps": "g",
    "net_return": "+.1%",
    "sharpe": "+.2f",
    "max_drawdown": ".1%",
    "turnover": ".3f",
    "exposure": ".1%",
    "trades": "d",
    "mean_trade_bps": "+.1f",
    "p_value": ".3f",
}
COLUMNS = [
    "strategy",
    "book",
    "net_return",
    "sharpe",
    "max_drawdown",
    "turnover",
    "exposure",
    "trades",
    "mean_trade_bps",
    "p_value",
]


def pooled_books(book: pl.DataFrame, cost: float) -> pl.DataFrame:
    """Pooled rows at one cost, paper before shadow, the comparisons last."""
    rank = {"paper": 0, "shadow": 1, "per_bar": 2, "hold": 3}
    df = book.filter((pl.col("symbol") == "POOLED") & (pl.col("cost_bps") == cost))
    return (
        df.with_columns(pl.col("book").replace_strict(rank, default=9).alias("_rank"))
        .sort("_rank", "strategy")
        .drop("_rank")
    )


def book_section(book: pl.DataFrame, service: str, costs: Sequence[float]) -> str:
    """Pooled tables at every cost and the service's per-symbol table at the highest."""
    if book.is_empty():
        return "## From signal to position: the books\n\nNo strategy could be traded."
    lines = [
        "## From signal to position: the books (`book.csv`)",
        "",
        "The trading layer's own desk (`models/trading`, the code the service runs on every "
        "closed bar) replayed over the period: expected return from the score, a trade only "
        "when it clears the round-trip cost plus one standard error, fractional Kelly capped "
        "per symbol and by risk, held for the horizon. `shadow` takes every trade the rule "
        "proposes, `paper` only certified ones; `hold` is buy-and-hold through the same book; "
        f"`{service}_per_bar` is the per-bar rule of `strategy.csv` (a position in the "
        "direction of every eligible signal, re-decided each bar) with real fills and fees. "
        "`POOLED`: one desk over every symbol. `mean_trade_bps`: mean net return per closed "
        "trade, `p_value`: its one-sided block-bootstrap p-value.",
    ]
    for cost in costs:
        lines += [
            "",
            f"### Pooled, {cost:g} bps round trip",
            "",
            table(pooled_books(book, cost), COLUMNS, BOOK_FMT),
        ]
    top = max(costs)
    per_symbol = book.filter(
        (pl.col("strategy") == service)
        & (pl.col("cost_bps") == top)
        & (pl.col("symbol") != "POOLED")
    ).sort("book", "symbol")
    if not per_symbol.is_empty():
        cols = ["symbol", *COLUMNS[1:]]
        lines += [
            "",
            f"### `{service}` per symbol, {top:g} bps (traded alone with the pooled "
            "desk's estimates)",
            "",
            table(per_symbol, cols, BOOK_FMT),
        ]
    return "\n".join(lines)
