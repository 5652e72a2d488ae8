"""models.benchmark: the timers and option checks every bench script shares."""

from __future__ import annotations

import itertools

import pytest

from models import benchmark
from models.cli import UsageError
from models.data.paths import default_data_dir
from tests.scripts.script_loader import load_script


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """perf_counter advances by the next entry of the returned list at every timed call."""
    durations: list[float] = []
    now = itertools.count()
    state = {"t": 0.0}

    def perf_counter() -> float:
        # start/stop alternate: a call's stop adds its duration, a start adds nothing
        if next(now) % 2:
            state["t"] += durations.pop(0)
        return state["t"]

    monkeypatch.setattr(benchmark.time, "perf_counter", perf_counter)
    return durations


def test_timings_warm_up_once_and_sync_around_each_call(fake_clock: list[float]) -> None:
    calls, syncs = [], []
    fake_clock.extend([0.004, 0.001, 0.002])
    times = benchmark.timings_ms(lambda: calls.append(1), 3, sync=lambda: syncs.append(1))
    assert len(calls) == 4  # one untimed warm-up
    assert len(syncs) == 6
    assert times == pytest.approx([4.0, 1.0, 2.0])


def test_median_and_best_summarise_the_timed_calls(fake_clock: list[float]) -> None:
    fake_clock.extend([0.005, 0.001, 0.003, 0.009])
    assert benchmark.median_ms(lambda: None, 3) == pytest.approx(3.0)
    assert benchmark.best_ms(lambda: None, 1) == pytest.approx(9.0)
    fake_clock.extend([0.002, 0.007])
    assert benchmark.best_ms(lambda: None, 2) == pytest.approx(2.0)


def test_market_options_defaults_and_checks() -> None:
    args = benchmark.parse_market_args("x", [])
    assert (args.data, args.symbols, args.repeat) == (default_data_dir(), None, 5)
    args = benchmark.parse_market_args("x", ["--symbols", "BTCUSDT", "--repeat", "2"])
    assert (args.symbols, args.repeat) == (["BTCUSDT"], 2)
    with pytest.raises(UsageError, match="--repeat must be >= 1, got -3"):
        benchmark.parse_market_args("x", ["--repeat", "-3"])


def test_bench_neural_names_the_option_and_value() -> None:
    bench = load_script("bench_neural")
    assert bench.parse_args([]).steps == 5
    with pytest.raises(UsageError, match="--batch-size must be >= 1, got 0"):
        bench.parse_args(["--batch-size", "0"])
