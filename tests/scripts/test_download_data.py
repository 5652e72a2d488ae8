"""scripts/download_data.py end to end: a real subprocess against a loopback archive server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from models.data.loader import load_ohlcv
from models.data.paths import REPO_ROOT
from tests.data.archive_server import ArchiveServer, build_archives

SCRIPT = REPO_ROOT / "scripts" / "download_data.py"
RANGE = ["--start", "2021-04-18", "--end", "2021-06-02"]
MONTHLY = "/data/spot/monthly/klines/{0}/1h/{0}-1h-2021-05.zip"


@pytest.fixture(scope="module")
def sources(real_candles) -> dict[str, pl.DataFrame]:
    end = datetime(2021, 6, 3, tzinfo=timezone.utc)
    start = datetime(2021, 4, 18, tzinfo=timezone.utc)
    return {
        s: real_candles(s).filter(pl.col("timestamp").is_between(start, end, closed="left"))
        for s in ("BTCUSDT", "ETHUSDT")
    }


@pytest.fixture
def server(sources: dict[str, pl.DataFrame]):
    files: dict[str, bytes] = {}
    for symbol, candles in sources.items():
        files.update(build_archives(candles, symbol))
    with ArchiveServer(files) as srv:
        yield srv


def run(*args: str, base_url: str = "http://127.0.0.1:9") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    command = [sys.executable, str(SCRIPT), "--base-url", base_url, "--retries", "1"]
    command += ["--backoff", "0.01", "--timeout", "5", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_download_writes_the_source_candles_then_resumes(server, sources, tmp_path) -> None:
    out = tmp_path / "out"
    done = run("--symbols", "BTCUSDT,ethusdt", *RANGE, "--out", str(out), base_url=server.url)
    assert done.returncode == 0, done.stderr
    for symbol, candles in sources.items():
        assert_frame_equal(load_ohlcv(out / f"{symbol}-1h.csv.gz"), candles)
        assert f"wrote {out / symbol}-1h.csv.gz: {candles.height} bars (16 archives" in done.stdout
    assert "BTCUSDT: [16/16] BTCUSDT-1h-2021-06-02.zip downloaded" in done.stderr
    # 46 days of hours less the 5 bars Binance lacks on 2021-04-20 and 2021-04-25
    assert "BTCUSDT: 1099 bars of 1h from 2021-04-18T00:00:00+00:00" in done.stdout
    assert "2 gaps, 5 missing bars" in done.stdout
    assert "gap before 2021-04-25T08:00:00+00:00: step 4 h, 3 missing bars" in done.stdout
    # Resume: with the server gone, everything comes from the verified cache.
    server.__exit__()
    again = run("--symbols", "BTCUSDT", *RANGE, "--out", str(out), base_url=server.url)
    assert again.returncode == 0, again.stderr
    assert "(0 archives downloaded, 16 cached, 0 missing)" in again.stdout


def test_checksum_mismatch_fails_without_files(server, tmp_path) -> None:
    path = MONTHLY.format("ETHUSDT")
    server.files[path] = server.files[path][:-10] + b"0123456789"
    out = tmp_path / "out"
    done = run("--symbols", "ETHUSDT", *RANGE, "--out", str(out), base_url=server.url)
    assert done.returncode == 1
    assert "error: ETHUSDT: checksum mismatch for ETHUSDT-1h-2021-05.zip" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (out / "ETHUSDT-1h.csv.gz").exists()
    assert not list(out.rglob("ETHUSDT-1h-2021-05.zip*"))


def test_unknown_symbol_fails_but_others_are_written(server, tmp_path) -> None:
    out = tmp_path / "out"
    done = run("--symbols", "NOPEUSDT", "BTCUSDT", *RANGE, "--out", str(out), base_url=server.url)
    assert done.returncode == 1
    assert "error: NOPEUSDT: no archive for NOPEUSDT at " in done.stderr
    assert "unknown spot symbol" in done.stderr and "Traceback" not in done.stderr
    assert (out / "BTCUSDT-1h.csv.gz").exists()
    assert not (out / "NOPEUSDT-1h.csv.gz").exists()


def test_server_down(tmp_path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    done = run("--symbols", "BTCUSDT", *RANGE, "--out", str(tmp_path), base_url=url)
    assert done.returncode == 1
    assert f"error: BTCUSDT: network failure fetching {url}/data/spot/" in done.stderr
    assert "after 2 attempt(s)" in done.stderr and "Traceback" not in done.stderr
    assert "retry 1/1 in 0.01 s" in done.stderr
    assert not list(tmp_path.rglob("*.gz"))


NEXT_WEEK = (datetime.now(timezone.utc).date() + timedelta(days=7)).isoformat()  # crosses midnight


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2021-06-02", "--end", "2021-06-01"], "--end 2021-06-01 is before --start"),
        (["--start", "June 1st"], "--start 'June 1st' is not a valid date (YYYY-MM-DD)"),
        (["--start", "2021-01-01", "--end", NEXT_WEEK], f"--end {NEXT_WEEK} is in the future"),
        (["--start", "2021-01-01", "--market", "spot", "--symbols", "BTC/USDT"], "not a Binance"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args: list[str], message: str, tmp_path) -> None:
    if "--symbols" not in args:
        args = ["--symbols", "BTCUSDT", *args]
    done = run(*args, "--out", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert "Traceback" not in done.stderr
    assert not any(tmp_path.iterdir())


def test_argparse_rejects_unknown_interval() -> None:
    done = run("--symbols", "BTCUSDT", "--start", "2021-01-01", "--interval", "2d")
    assert done.returncode == 2
    assert "argument --interval: invalid choice: '2d'" in done.stderr
