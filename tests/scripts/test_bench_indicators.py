"""scripts/bench_indicators.py: realistic extension of real candles and a complete table."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.cli import UsageError, run_cli
from tests.scripts.script_loader import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench_indicators")


def test_extension_is_continuous_and_keeps_real_returns(bench, btc):
    base = btc.head(500)
    ext = bench.extend_candles(base, 1700)
    assert ext.height == 1700
    assert ext.columns == ["timestamp", "open", "high", "low", "close", "volume"]
    steps = ext["timestamp"].diff().drop_nulls().unique().to_list()
    assert [s.total_seconds() for s in steps] == [3600.0]
    close, open_ = ext["close"].to_numpy(), ext["open"].to_numpy()
    for copy in (1, 2, 3):
        i = copy * base.height
        assert open_[i] == pytest.approx(close[i - 1], rel=1e-12)
    real = np.diff(np.log(base["close"].to_numpy()))
    np.testing.assert_allclose(np.diff(np.log(close[500:1000])), real, atol=1e-12)
    np.testing.assert_array_equal(ext["volume"].to_numpy()[500:1000], base["volume"].to_numpy())
    assert (ext["high"] >= ext["low"]).all()


def test_prints_total_and_per_indicator_rows(bench, real_data_dir, capsys):
    code = bench.main(["--data", str(real_data_dir), "--bars", "3000", "--repeat", "1"])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["bars", "ours", "ms", "TA-Lib", "ms", "ratio"]
    total = lines[1].split()
    assert total[0] == "3000" and float(total[1]) > 0.0
    names = ("sma_20", "rsi_14", "macd", "bollinger", "dmi", "stochastic", "obv", "volatility_20")
    for name in names:
        assert any(line.startswith(name) for line in lines), name


def test_bad_options_are_usage_errors(bench, capsys):
    with pytest.raises(UsageError, match="--bars"):
        bench.parse_args(["--bars", "0"])
    assert run_cli(bench.main, ["--data", "/nonexistent", "--bars", "10"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_extension_shorter_than_the_history(bench):
    frame = pl.DataFrame(
        {
            "timestamp": pl.datetime_range(
                pl.datetime(2023, 1, 1, time_zone="UTC"),
                pl.datetime(2023, 1, 1, 4, time_zone="UTC"),
                "1h",
                eager=True,
                time_unit="us",
            ),
            **{c: [1.0, 2.0, 3.0, 4.0, 5.0] for c in ("open", "high", "low", "close", "volume")},
        }
    )
    assert bench.extend_candles(frame, 3)["close"].to_list() == [1.0, 2.0, 3.0]
