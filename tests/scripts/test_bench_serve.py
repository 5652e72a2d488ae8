"""scripts/bench_serve.py: its pure parts (targets per path, CPU accounting, windows, usage).

The whole benchmark starts Ray and takes minutes; its numbers belong in docs/serving.md, not
in a timed test. These tests pin what it computes from the measurements.
"""

from __future__ import annotations

import os

import polars as pl
import pytest

from models.cli import UsageError
from tests.scripts.script_loader import load_script


@pytest.fixture(scope="module")
def bench():
    # the script sets Ray/polars environment defaults at import (they must precede Ray);
    # keep them out of this test session, whose Ray runs in the default mode
    saved = dict(os.environ)
    try:
        return load_script("bench_serve")
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_targets_are_judged_per_path(bench) -> None:
    single = bench.Row("in-process", 1, 20.0, 21.0, 22.0, 50.0)
    batched = bench.Row("in-process, batches of 16", 16, 150.0, 160.0, 160.0, 100.0)
    rows = [
        bench.Row("serve (proxy)", 1, 40.0, 45.0, 50.0, 25.0),
        bench.Row("serve (proxy)", 32, 600.0, 800.0, 900.0, 49.0),
        bench.Row("serve (direct ingress)", 1, 34.9, 40.0, 45.0, 28.0),
        bench.Row("serve (direct ingress)", 32, 250.0, 280.0, 299.0, 120.0),
    ]
    lines = bench.targets(rows, single, batched)
    assert len(lines) == 6
    proxy, direct = lines[:3], lines[3:]
    assert all(line.startswith("serve (proxy)") for line in proxy)
    assert [line.endswith("NOT met") for line in proxy] == [True, True, True]
    assert all(line.startswith("serve (direct ingress)") for line in direct)
    assert [line.endswith(": met") for line in direct] == [True, True, True]


def test_processes_are_grouped_by_role(bench) -> None:
    group = bench._process_group
    assert group(os.getpid(), "python bench") == "load client + driver"
    assert group(1, "ray::ServeReplica:bench:TransformerDeployment") == "TransformerDeployment"
    assert group(1, "ray::ProxyActor") == "Serve proxy"
    assert group(1, "ray::ServeController.listen_for_change") == "Serve controller"
    assert group(1, "/usr/bin/raylet --flag") == "Ray system (raylet, GCS, agents)"
    assert group(1, "/usr/bin/postgres") is None


def test_cpu_per_request_counts_only_processes_seen_twice(bench) -> None:
    before = {1: ("Ingress", 10.0), 2: ("SmcDeployment", 5.0), 3: ("Ingress", 1.0)}
    after = {1: ("Ingress", 10.2), 2: ("SmcDeployment", 5.3), 3: ("Ingress", 1.1), 4: ("X", 9.0)}
    spent = bench.cpu_per_request(before, after, requests=100)
    assert spent == pytest.approx({"Ingress": 3.0, "SmcDeployment": 3.0})


def test_cpu_table_has_totals_and_busy_cores(bench) -> None:
    cpu = {("direct ingress", 1): {"A": 10.0, "B": 5.0}, ("direct ingress", 32): {"A": 20.0}}
    walls = {("direct ingress", 1): (100, 2.0), ("direct ingress", 32): (100, 1.0)}
    text = bench.cpu_table(cpu, walls)
    lines = text.splitlines()
    assert lines[0] == "| process | direct ingress c=1 | direct ingress c=32 |"
    assert lines[2] == "| A | 10.0 | 20.0 |" and lines[3] == "| B | 5.0 | 0.0 |"
    assert lines[4] == "| **total** | **15.0** | **20.0** |"
    assert lines[5] == "| cores busy | 0.75 | 2.00 |"  # 15 ms x 100 in 2 s; 20 ms x 100 in 1 s


def test_request_windows_are_distinct_and_need_enough_history(bench) -> None:
    frame = pl.DataFrame({"close": list(range(300))})
    windows = bench.request_windows(frame, 10, 256)
    assert [w.height for w in windows] == [256] * 10
    assert [w["close"][-1] for w in windows] == list(range(289, 299))
    with pytest.raises(UsageError, match="need 400"):
        bench.request_windows(frame, 144, 256)


def test_bad_options_are_usage_errors(bench) -> None:
    with pytest.raises(UsageError, match="--requests"):
        bench.parse_args(["--requests", "5"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--model-size", "huge"])


def test_member_statuses_are_counted_and_only_failures_shown(bench) -> None:
    answers = [
        {"lgbm": {"status": "ok"}, "smc": {"status": "ok"}},
        {"lgbm": {"status": "timeout"}, "smc": {"status": "ok"}},
        {"lgbm": {"status": "timeout"}, "smc": {"status": "error: boom"}},
    ]
    counts = bench.count_statuses(answers)
    assert counts == {"lgbm": {"ok": 1, "timeout": 2}, "smc": {"ok": 2, "error: boom": 1}}
    served = bench.row("serve (proxy)", 32, [1.0, 2.0, 3.0], 1.0, answers_models=answers)
    clean = bench.row("serve (proxy)", 1, [1.0], 1.0, answers_models=answers[:1])
    lines = bench.status_table([bench.Row("in-process", 1, 1, 1, 1, 1), served, clean])
    assert lines.splitlines()[0] == "| path | concurrency | lgbm | smc |"
    assert lines.splitlines()[2] == "| serve (proxy) | 32 | timeout 2 | error: boom 1 |"
    assert lines.splitlines()[3] == "| serve (proxy) | 1 | - | - |"
