"""scripts/bench_regime.py: one complete row per symbol, and usage errors."""

from __future__ import annotations

import pytest

from models.cli import UsageError, run_cli
from tests.scripts.script_loader import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench_regime")


def test_prints_a_row_per_symbol(bench, real_data_dir, capsys) -> None:
    argv = ["--data", str(real_data_dir), "--symbols", "SOLUSDT", "--repeat", "1"]
    assert bench.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["symbol", "bars", "full", "ms", "us/bar", "window", "ms"]
    row = lines[1].split()
    assert len(lines) == 2 and row[0] == "SOLUSDT"
    assert int(row[1]) > 20_000
    assert all(float(x) > 0.0 for x in row[2:])


def test_bad_options_are_usage_errors(bench, capsys) -> None:
    with pytest.raises(UsageError, match="--repeat must be >= 1, got 0"):
        bench.parse_args(["--repeat", "0"])
    assert run_cli(bench.main, ["--data", "/nonexistent"]) == 2
    assert "error:" in capsys.readouterr().err
