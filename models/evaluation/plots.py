"""Small PNG figures for the report, drawn with the Agg canvas (no display, no pyplot).

Using ``Figure`` + ``FigureCanvasAgg`` directly leaves matplotlib's global backend and
figure registry untouched, so importing or calling this never affects other code. Each
figure is drawn at ``DPI`` with a modest size so it stays well under 150 KB.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from models.evaluation.pooling import Book
from models.evaluation.strategy import net_returns
from models.evaluation.symbol_eval import SymbolResult
from models.evaluation.tables import parts_of

DPI = 80


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return path


def _book_equity(
    results: Sequence[SymbolResult], name: str, cost_bps: float
) -> tuple[np.ndarray, np.ndarray]:
    """(timestamps, compounded equity) of the equal-weight book of strategy ``name``."""
    parts = parts_of(results, name)
    book = Book.of([o.timestamps for _, o, _ in parts])
    counts = np.zeros(book.timeline.size)
    for idx in book.index:
        counts[idx] += 1
    returns = book.mean_returns(
        [net_returns(s.position, o.next_return, cost_bps) for _, o, s in parts]
    )
    stamps = book.timeline[counts > 0].astype("datetime64[us]")
    return stamps, np.cumprod(1.0 + returns)


def equity_curves(
    results: Sequence[SymbolResult], names: Sequence[str], cost_bps: float, path: Path
) -> Path:
    """Pooled equal-weight equity of ``names`` after ``cost_bps``, buy-and-hold in black."""
    fig, ax = _figure(8, 4.2)
    for name in names:
        if not parts_of(results, name):
            continue
        stamps, equity = _book_equity(results, name, cost_bps)
        style = {"color": "black", "lw": 2.0} if name == "buy_and_hold" else {"lw": 1.0}
        ax.plot(stamps, equity, label=name, **style)
    ax.axhline(1.0, color="grey", lw=0.5)
    ax.set_ylabel("equity (start = 1)")
    ax.set_title(f"Equal-weight book over {len(results)} symbols, {cost_bps:g} bps per unit traded")
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    fig.autofmt_xdate()
    return _save(fig, path)


def calibration_plot(
    calibration: pl.DataFrame, names: Sequence[str], curve: str, path: Path
) -> Path:
    """Reliability diagram (``curve='reliability'``) or accuracy by confidence decile."""
    fig, ax = _figure(5.5, 4.2)
    rows = calibration.filter((pl.col("curve") == curve) & (pl.col("regime") == "all"))
    for name in names:
        part = rows.filter(pl.col("strategy") == name).filter(pl.col("count") >= 30)
        if part.height:
            ax.plot(part["mean_value"], part["accuracy"], marker="o", ms=3, lw=1, label=name)
    if curve == "reliability":
        ax.plot([0, 1], [0, 1], color="grey", lw=0.7, ls="--", label="perfect calibration")
        ax.set_xlabel("stated probability of the predicted class")
        ax.set_title("Reliability (pooled; bins with >= 30 bars)")
    else:
        ax.set_xlabel("mean confidence in the decile")
        ax.set_title("3-class accuracy by confidence decile (pooled)")
    ax.set_ylabel("observed accuracy")
    ax.legend(fontsize=7)
    return _save(fig, path)


def weights_plot(weights: dict[str, np.ndarray], path: Path, smooth_bars: int = 168) -> Path:
    """The weight of each member over the period (mean over symbols, smoothed over
    ``smooth_bars``): its signed, normalised weight in the combined score when the signal
    was made (absolute weights sum to 1)."""
    fig, ax = _figure(8, 3.6)
    names = list(weights)
    kernel = np.ones(smooth_bars) / smooth_bars
    series = []
    for name in names:
        w = np.nan_to_num(weights[name])
        series.append(np.convolve(w, kernel, mode="valid") if w.size >= smooth_bars else w)
    for name, values in zip(names, series, strict=True):
        ax.plot(np.arange(values.size), values, label=name, lw=1.2)
    ax.axhline(0.0, color="grey", lw=0.6)
    ax.set_xlabel(f"bar of the period ({smooth_bars}-bar moving average, mean over symbols)")
    ax.set_ylabel("weight in the combined score")
    ax.set_ylim(-1, 1)
    ax.legend(loc="upper left", fontsize=7, ncol=3)
    return _save(fig, path)
