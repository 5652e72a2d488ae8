"""Every command-line script, run as a real subprocess with options a user might get wrong.

A user mistake must end in a non-zero exit and one clear line naming the option or the
value, never a Python traceback. Each case is rejected before any real work starts (no
network, no training), so the whole table runs in about a minute on two cores; the runs
are spread over two threads in one module fixture and checked one case per test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from models.data.paths import REPO_ROOT, default_data_dir

SCRIPTS = REPO_ROOT / "scripts"
HAS_DATA = (default_data_dir() / "BTCUSDT-1h.csv.gz").exists()
DEAD_URL = "http://127.0.0.1:9"  # nothing listens on the discard port: no network, no wait


@dataclass(frozen=True)
class Case:
    script: str
    args: tuple[str, ...]
    expect: str | tuple[str, ...]  # fragment(s) of the error line, any one of them
    needs_data: bool = False

    @property
    def id(self) -> str:
        return f"{self.script}:{' '.join(self.args)}"


def _case(script: str, *args: str, expect: str | tuple[str, ...], needs_data: bool = False) -> Case:
    return Case(script, args, expect, needs_data)


DL = ("--symbols", "BTCUSDT", "--base-url", DEAD_URL)
SUBMIT = ("--address", DEAD_URL, "--storage", "/tmp/x", "--registry", "/tmp/y")
CASES: tuple[Case, ...] = (
    _case("bench_indicators.py", "--bars", "-5", expect="--bars must be >= 1"),
    _case("bench_indicators.py", "--bars", "abc", expect="argument --bars: invalid int value"),
    _case("bench_indicators.py", "--repeat", "0", expect="--repeat"),
    _case("bench_indicators.py", "--data", "/nonexistent", expect="no such file"),
    _case("bench_neural.py", "--steps", "0", expect="--steps must be >= 1"),
    _case("bench_neural.py", "--batch-size", "-1", expect="--batch-size must be >= 1"),
    _case("bench_neural.py", "--device", "tpu", expect="argument --device: invalid choice"),
    _case("bench_neural.py", "--threads", "0", expect="num_threads: must be >= 1"),
    _case("bench_regime.py", "--repeat", "0", expect="--repeat must be >= 1"),
    _case("bench_regime.py", "--data", "/etc/passwd", expect="unknown file type"),
    _case("bench_regime.py", "--symbols", "NOPE", expect="unknown symbol(s) NOPE", needs_data=True),
    _case("bench_smc.py", "--symbols", "../x", expect="unknown symbol(s) ../X", needs_data=True),
    _case("bench_smc.py", "--repeat", "-1", expect="--repeat"),
    _case("download_data.py", *DL, "--start", "2021-13-01", expect="not a valid date"),
    _case("download_data.py", *DL, "--start", "2021-01-05", "--end", "2021-01-01", expect="before"),
    _case("download_data.py", *DL, "--start", "2021-01-01", "--retries", "-1", expect="retries"),
    _case("download_data.py", *DL, "--start", "2021-01-01", "--timeout", "0", expect="timeout"),
    _case("download_data.py", "--symbols", "../etc", "--start", "2021-01-01", expect="'../ETC'"),
    _case("download_data.py", "--symbols", "BTCUSDT", expect="required: --start"),
    _case("fit_combiner.py", "--data", "/nonexistent", expect="/nonexistent does not exist"),
    _case("fit_combiner.py", "--jobs", "0", expect="--jobs: must be >= 1"),
    _case(
        "fit_combiner.py",
        "--registry",
        "/nonexistent/registry",
        expect="no trained model",
        needs_data=True,
    ),
    _case("main.py", "--port", "99999", expect="--port must be in 1..65535"),
    _case("main.py", "--months", "0", expect="--months"),
    _case("main.py", "--data", "/nonexistent", "--once", expect="/nonexistent does not exist"),
    _case("submit_training.py", *SUBMIT, "--cpus", "-1", expect="--cpus and --gpus must be >= 0"),
    _case("submit_training.py", "--registry", "/tmp/y", expect="required: --storage"),
    _case("loadtest.py", "--url", "http://10.1.2.3:8000", expect="--url must be on loopback"),
    _case("loadtest.py", "--requests", "0", expect="--requests must be >= 1"),
    _case("loadtest.py", "--duration-limit", "0", expect="--duration-limit must be > 0"),
    _case("loadtest.py", "--data", "/nonexistent", expect="no such file or directory"),
    _case("loadtest.py", "--symbols", "NOPE", expect="unknown symbol(s) NOPE", needs_data=True),
    _case("serve.py", expect="--registry is required"),
    _case("serve.py", "--registry", "r", "--state-db", "/nonexistent/s.db", expect="--state-db"),
    _case("train.py", "--num-samples", "0", expect="--num-samples: must be >= 1"),
    _case("train.py", "--val-frac", "2", expect="--val-frac: must be below 1"),
    _case("train.py", "--horizon", "0", expect="--horizon: must be >= 1"),
    _case("train.py", "--models", "nope", expect="argument --models: invalid choice"),
    _case("train.py", "--data", "/nonexistent", expect="/nonexistent does not exist"),
    _case("train.py", "--start", "notadate", expect="not an ISO date", needs_data=True),
)
UNKNOWN_OPTION = "--no-such-option"


def _script_cases() -> list[Case]:
    """The table plus an unknown option for every script that exists (new ones included)."""
    scripts = sorted(p.name for p in SCRIPTS.glob("*.py") if not p.name.startswith("_"))
    cases = [c for c in CASES if c.script in scripts]
    # Scripts with required options may complain about those first: also a clear usage error.
    generic = (f"unrecognized arguments: {UNKNOWN_OPTION}", "arguments are required")
    cases += [_case(s, UNKNOWN_OPTION, expect=generic) for s in scripts]
    return [c for c in cases if HAS_DATA or not c.needs_data]


def _run(case: Case) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    env.pop("SMARTMARKET_API_KEY", None)
    command = [sys.executable, str(SCRIPTS / case.script), *case.args]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=180, cwd=REPO_ROOT
    )


ALL = _script_cases()


@pytest.fixture(scope="module")
def results() -> dict[str, subprocess.CompletedProcess[str]]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip((c.id for c in ALL), pool.map(_run, ALL), strict=True))


pytestmark = pytest.mark.slow


@pytest.mark.parametrize("case", ALL, ids=[c.id for c in ALL])
def test_bad_option_is_a_clear_usage_error(results, case: Case) -> None:
    done = results[case.id]
    err = done.stderr
    assert done.returncode == 2, f"exit {done.returncode}\n{err[-2000:]}"
    assert "Traceback" not in err and "Traceback" not in done.stdout, err[-2000:]
    expected = (case.expect,) if isinstance(case.expect, str) else case.expect
    assert any(e in err for e in expected), err[-2000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith(("error:", f"{case.script}: error:")), last


def test_every_script_is_exercised() -> None:
    """The table is not silently empty: each script has a specific case or the generic one."""
    scripts = {p.name for p in SCRIPTS.glob("*.py") if not p.name.startswith("_")}
    assert scripts and {c.script for c in ALL} == scripts
    assert len(ALL) >= len(scripts) + 10
