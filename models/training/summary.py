"""The end-of-run table: each model's test scores next to trivial baselines on the same rows.

A direction classifier is only worth publishing if it beats "always predict the majority
class", "always flat" and "repeat the last move" on exactly the rows it was scored on, so the
table puts them side by side (with the log loss of the prior, the majority baseline's
probabilities) and adds the edge over the best baseline. The same rows render
as plain text (terminal) or Markdown (``docs/training.md``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

BASELINE_ORDER: tuple[str, ...] = ("majority", "always_flat", "momentum")
"""Baselines shown, in this order, when present (others follow alphabetically)."""


@dataclass(frozen=True)
class Scores:
    """Classifier scores on one set of rows; ``log_loss`` is None for hard-label baselines."""

    accuracy: float
    macro_f1: float
    log_loss: float | None = None

    @classmethod
    def from_metrics(cls, metrics: Mapping[str, float]) -> Scores:
        """Pick the three scores out of a metrics dict (extra keys are ignored)."""
        loss = metrics.get("log_loss", metrics.get("loss"))
        return cls(
            accuracy=float(metrics["accuracy"]),
            macro_f1=float(metrics["macro_f1"]),
            log_loss=None if loss is None else float(loss),
        )


@dataclass(frozen=True)
class SummaryRow:
    """One (symbol, model) outcome of a training run; ``error`` set when it failed."""

    symbol: str
    model: str
    trials: int = 0
    val_loss: float | None = None
    val_accuracy: float | None = None
    test: Scores | None = None
    baselines: Mapping[str, Scores] = field(default_factory=dict)
    n_test: int = 0
    version: str | None = None
    seconds: float = 0.0
    error: str | None = None

    def edge(self) -> float | None:
        """Test accuracy minus the best baseline accuracy (None without both)."""
        if self.test is None or not self.baselines:
            return None
        return self.test.accuracy - max(b.accuracy for b in self.baselines.values())


def _num(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}f}"


def _signed(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:+.3f}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _baseline_names(rows: Sequence[SummaryRow]) -> list[str]:
    present = {name for row in rows for name in row.baselines}
    ordered = [name for name in BASELINE_ORDER if name in present]
    return ordered + sorted(present - set(ordered))


def _baseline_loss(row: SummaryRow, name: str) -> float | None:
    b = row.baselines.get(name)
    return None if b is None else b.log_loss


def summary_cells(rows: Sequence[SummaryRow]) -> tuple[list[str], list[list[str]]]:
    """Header and string cells of the table (shared by the text and Markdown renderers)."""
    baselines = _baseline_names(rows)
    header = ["symbol", "model", "trials", "val loss", "val acc"]
    header += ["test acc", "test F1", "test logloss"]
    with_loss = {n for n in baselines if any(_baseline_loss(r, n) is not None for r in rows)}
    header += [f"{n} acc/F1/LL" if n in with_loss else f"{n} acc/F1" for n in baselines]
    header += ["edge acc", "n test", "version", "time"]
    body = []
    for row in rows:
        test = row.test
        cells = [row.symbol, row.model, str(row.trials), _num(row.val_loss), _num(row.val_accuracy)]
        cells += [
            _num(test.accuracy if test else None),
            _num(test.macro_f1 if test else None),
            _num(test.log_loss if test else None),
        ]
        for name in baselines:
            b = row.baselines.get(name)
            text = f"{_num(b.accuracy)}/{_num(b.macro_f1)}" if b else "-"
            if b and name in with_loss:
                text += f"/{_num(b.log_loss)}"
            cells.append(text)
        version = row.version or ("FAILED: " + row.error if row.error else "-")
        cells += [_signed(row.edge()), str(row.n_test), version, _duration(row.seconds)]
        body.append(cells)
    return header, body


def format_summary(rows: Sequence[SummaryRow]) -> str:
    """Aligned plain-text table for the terminal (numbers right-aligned)."""
    header, body = summary_cells(rows)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    left = {0, 1, len(header) - 2}

    def line(cells: list[str]) -> str:
        parts = [
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in body)])


def format_markdown(rows: Sequence[SummaryRow]) -> str:
    """GitHub-flavoured Markdown table of the same cells (for docs/training.md)."""
    header, body = summary_cells(rows)
    align = ["---" if i in (0, 1) else "---:" for i in range(len(header))]
    align[-2] = "---"
    lines = [header, align, *body]
    return "\n".join("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in lines)
