"""Training jobs of the ``tree`` kinds, built the one way their registry entries say.

A tree kind trains one job over every symbol (one search, pooled variants possible), so its
job is built from all the candles before Ray starts: the entry's ``prepare``
(``module:function(frames, leader, request) -> job``) gets every symbol's candles, the
candles of the entry's ``leader`` when it names one, and the :class:`TreeRequest`; its
``trainer`` (``module:function(job, options, registry) -> list[SummaryRow]``) runs the job.
``scripts/train.py`` calls :func:`prepare_tree_jobs` for whichever tree kinds it is asked
for, so a new kind needs its own modules and one registry entry, nothing here or there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from models.errors import DataValidationError
from models.predictors.registry import load_target, predictor_entry


@dataclass(frozen=True)
class TreeRequest:
    """What every tree kind's job is built from: the data, its bounds, the split and the
    kind's own options (``options``: the command line's, e.g. ``lgbm_variant``)."""

    data: Path
    symbols: tuple[str, ...] | None = None
    start: str | None = None
    end: str | None = None
    max_rows: int | None = None
    horizon: int = 4
    val_frac: float = 0.15
    test_frac: float = 0.15
    seed: int = 0
    options: Mapping[str, Any] = field(default_factory=dict)
    retraining: bool = False
    """A scheduled retraining of one symbol (recorded in the provenance)."""

    def provenance(self) -> dict[str, Any]:
        """Recorded with the published models (where their data came from)."""
        keys = ("start", "end", "max_rows", "val_frac", "test_frac", "seed")
        extra = {"retraining": True} if self.retraining else {}
        return {"data_path": str(self.data), **{k: getattr(self, k) for k in keys}, **extra}


def prepare_tree_jobs(names: Sequence[str], request: TreeRequest) -> dict[str, Any]:
    """Name -> job for the tree kinds ``names`` (each from its entry's ``prepare``).

    Raises :class:`DataValidationError` naming the kind when its leader's candles are
    missing, and whatever its ``prepare`` raises (too few candles: ``InsufficientDataError``).
    """
    from models.data.loader import load_market_data

    if not names:
        return {}
    frames = load_market_data(request.data, symbols=request.symbols)
    jobs: dict[str, Any] = {}
    for name in names:
        entry = predictor_entry(name)
        if entry.kind != "tree" or entry.prepare is None:
            raise ValueError(f"{name}: not a tree kind with a prepare function")
        leader: pl.DataFrame | None = None
        if entry.leader is not None:
            try:
                leader = load_market_data(request.data, symbols=[entry.leader])[entry.leader]
            except DataValidationError as exc:
                raise DataValidationError(
                    f"--data: {name} needs the leader {entry.leader}: {exc}"
                ) from None
        prepare: Callable[..., Any] = load_target(entry.prepare)
        jobs[name] = prepare(frames, leader, request)
    return jobs
