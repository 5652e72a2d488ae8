"""scripts/bench_ensemble.py: a row per preset with positive timings, and usage errors."""

from __future__ import annotations

import pytest

from models.cli import UsageError
from tests.scripts.script_loader import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench_ensemble")


def test_prints_a_row_per_preset(bench, capsys) -> None:
    assert bench.main(["--bars", "60", "--repeat", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["preset", "combine", "us", "learn", "us", "state", "bytes"]
    rows = [line.split() for line in lines[1:]]
    assert [r[0] for r in rows] == ["learned", "original"]
    assert all(float(r[1]) > 0 and float(r[2]) > 0 and int(r[3]) > 0 for r in rows)


def test_bad_options_are_usage_errors(bench) -> None:
    with pytest.raises(UsageError, match="--bars must be >= 1, got 0"):
        bench.parse_args(["--bars", "0"])
