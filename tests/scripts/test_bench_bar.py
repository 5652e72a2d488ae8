"""scripts/bench_bar.py: the followed symbols on one clock, the scratch registry, the
in-process bar loop on a tiny registry-free run, and usage errors.

The served run starts Ray and takes minutes: its numbers go in docs/serving.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.cli import UsageError
from tests.scripts.script_loader import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench_bar")


def test_copies_are_offset_by_a_week_on_one_clock(bench, real_data_dir) -> None:
    args = bench.parse_args(
        ["--registry", "r", "--data", str(real_data_dir), "--copies", "1", "--bars", "3"]
    )
    frames = bench.followed_frames(args)
    assert len(frames) == 20 and bench.copy_name("ETHUSDT", 1) in frames
    leader = frames["BTCUSDT"]
    eth, copy = frames["ETHUSDT"], frames["ETH1USDT"]
    assert copy["timestamp"][-1] == eth["timestamp"][-1] == leader["timestamp"][-1]
    assert copy["close"][-1] == eth["close"][-1 - bench.WEEK]  # a week earlier's candle
    assert copy.height == eth.height - bench.WEEK
    assert all(f.null_count().sum_horizontal()[0] == 0 for f in frames.values())


def test_every_symbol_serves_links_to_the_model_symbols_models(bench, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "ETHUSDT" / "lgbm").mkdir(parents=True)
    bench.scratch_registry(source, "ETHUSDT", ["AAAUSDT", "BBBUSDT"], tmp_path / "reg")
    assert (tmp_path / "reg" / "BBBUSDT" / "lgbm").resolve() == (source / "ETHUSDT" / "lgbm")
    with pytest.raises(UsageError, match="no models of SOLUSDT"):
        (source / "SOLUSDT").mkdir()
        bench.scratch_registry(source, "SOLUSDT", ["X"], tmp_path / "reg2")


def test_the_in_process_bar_loop_stores_a_signal_per_symbol_and_bar(
    bench, real_data_dir, tmp_path: Path
) -> None:
    args = bench.parse_args(["--registry", "r", "--data", str(real_data_dir), "--bars", "2"])
    frames = bench.followed_frames(args)
    frames = {s: frames[s] for s in ("BTCUSDT", "ETHUSDT")}
    (tmp_path / "reg").mkdir()
    out = bench.bench_in_process(args, frames, str(tmp_path / "reg"), tmp_path)
    assert len(out["walls"]) == 1 and out["cpu_ms"] > 0
    assert {"lgbm", "regime", "smc"} <= set(out["calls"])


@pytest.mark.parametrize(
    "argv", [["--copies", "-1"], ["--bars", "1"], ["--start-row", "100", "--copies", "9"]]
)
def test_bad_usage_is_named(bench, real_data_dir, argv) -> None:
    with pytest.raises(UsageError):
        args = bench.parse_args(["--registry", "r", "--data", str(real_data_dir), *argv])
        bench.followed_frames(args)
