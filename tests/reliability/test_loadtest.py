"""scripts/loadtest.py end to end against the running reliability app (``--url``), small.

A subprocess, as a user runs it: importing the script here would set its Ray environment
defaults in the test process. The full 20,000-request run and its figures are in
docs/reliability.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from models.data.paths import REPO_ROOT
from tests.reliability.harness import APP_NAME, ReliabilityApp

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def test_loadtest_reports_errors_latency_and_replica_memory(app: ReliabilityApp, real_data_dir):
    command = [
        sys.executable, str(REPO_ROOT / "scripts" / "loadtest.py"),
        "--url", app.base_url, "--app-name", APP_NAME, "--data", str(real_data_dir),
        "--requests", "80", "--concurrency", "4", "--warmup", "8", "--windows", "8",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "SMARTMARKET_API_KEY"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    cells = r"\| (\d+) " * 6
    row = re.search(r"^\| 80 \| 4 " + cells, out, re.M)
    assert row, out
    errors, degraded, p50, p90, p95, p99 = map(int, row.groups())
    assert errors == 0 and degraded == 0
    assert 0 < p50 <= p90 <= p95 <= p99
    memory = dict(re.findall(r"^\| ([A-Za-z]\w*) \| (\d+) \| \d+ \| \d+ \|", out, re.M))
    assert {"Ingress", "EnsembleDeployment", "StateDeployment", "total"} <= set(memory), out
    assert all(int(mb) > 50 for mb in memory.values()), out  # real worker processes sampled
    assert "target zero errors: 0 errors -> met" in out
    assert app.key not in out + done.stderr
