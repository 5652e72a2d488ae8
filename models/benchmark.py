"""Timers and options shared by the benchmark scripts (``scripts/bench_*.py``).

Speed targets live in those scripts, never in timed tests, so every script times the same
way: one untimed warm-up call (imports, allocations, kernel selection), then ``repeat``
timed calls summarised as a median (typical cost) or a minimum (the least disturbed run on
a shared machine). Options a user can get wrong end in :class:`~models.cli.UsageError`.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from models.cli import UsageError
from models.data.paths import default_data_dir

__all__ = ["best_ms", "median_ms", "parse_market_args", "require_positive", "timings_ms"]


def timings_ms(
    fn: Callable[[], object],
    repeat: int,
    sync: Callable[[], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> list[float]:
    """Wall times of ``repeat`` calls of ``fn`` in milliseconds, after one warm-up call.

    ``sync`` (e.g. ``torch.cuda.synchronize``) runs before and after each timed call, so
    asynchronous device work is counted in the call that queued it. ``clock``:
    ``time.process_time`` times this process's CPU instead (on a busy shared machine the
    wall time mostly measures the neighbours).
    """
    tick = clock or time.perf_counter  # looked up now: tests replace time.perf_counter
    fn()
    times = []
    for _ in range(repeat):
        if sync is not None:
            sync()
        start = tick()
        fn()
        if sync is not None:
            sync()
        times.append((tick() - start) * 1000.0)
    return times


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` in milliseconds (the typical cost of a call)."""
    return statistics.median(timings_ms(fn, repeat))


def best_ms(
    fn: Callable[[], object],
    repeat: int,
    sync: Callable[[], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> float:
    """Fastest time of ``fn`` in milliseconds (the code's cost, not its neighbours'): wall
    time, or what ``clock`` measures (see :func:`timings_ms`)."""
    return min(timings_ms(fn, repeat, sync, clock))


def require_positive(args: argparse.Namespace, *names: str) -> None:
    """Raise :class:`UsageError` naming the option when one of ``names`` is below 1."""
    for name in names:
        value = getattr(args, name)
        if value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 1, got {value}")


def parse_market_args(description: str, argv: Sequence[str] | None) -> argparse.Namespace:
    """``--data DIR --symbols ... --repeat N`` of the per-symbol benchmarks, checked."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="candle directory")
    parser.add_argument("--symbols", nargs="*", default=None, help="default: every file there")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (median)")
    args = parser.parse_args(argv)
    require_positive(args, "repeat")
    return args
