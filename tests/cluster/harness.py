"""Run a multi-node Ray scenario in a fresh interpreter and bring back what it observed.

Why a subprocess per scenario instead of a fixture in the pytest process:

* one Python process holds at most one Ray connection, and the pytest process may already
  hold the session-wide ``ray_session`` (tests/conftest.py) that other tests keep using;
  shutting it down or re-initialising it here would break them, whatever order tests run in;
* ``ray.cluster_utils.Cluster`` writes its address to ``<RAY_TMPDIR>/ray/ray_current_cluster``,
  which a bare ``ray.init()`` anywhere on the machine would then join: the child gets a
  private ``RAY_TMPDIR`` (short, because Ray's socket paths must stay under ~107 characters),
  so other engineers' test runs never see these clusters;
* a hung scenario is killed with its whole process group after ``timeout`` and cannot leak
  nodes into later tests.

A scenario module defines ``scenario(**kwargs) -> dict`` (runs in the child, connected to its
own cluster) and calls :func:`scenario_main` under ``if __name__ == "__main__"``; its tests call
:func:`run_scenario` and assert on the returned JSON observations.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

FAST_FAILURE_DETECTION = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 500,
    "health_check_timeout_ms": 1000,
    "health_check_failure_threshold": 3,
}
"""GCS settings that declare a removed node dead in ~2 s instead of ~30 s."""

STRAY_CONNECTION = "Found multiple active Ray instances"
"""Ray's message when an implicit ``ray.init()`` picks one of several clusters it found."""


@dataclass(frozen=True)
class ScenarioRun:
    """The child's JSON observations, its combined output and each Ray worker's log by pid."""

    result: dict[str, Any]
    output: str
    worker_logs: dict[int, str]


def run_scenario(script: str | Path, timeout: float, **kwargs: Any) -> ScenarioRun:
    """Run ``script``'s :func:`scenario` in a child interpreter with its own Ray temp dir."""
    tmp = Path(tempfile.mkdtemp(prefix="smrc", dir="/tmp"))
    result_file = tmp / "result.json"
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "RAY_TMPDIR": str(tmp), "PYTHONPATH": path}
    env.pop("RAY_ADDRESS", None)
    command = [sys.executable, str(script), "--result", str(result_file), json.dumps(kwargs)]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        output = f"{output}\n[harness] scenario killed after {timeout:.0f} s"
    try:
        logs = _worker_logs(tmp)
        if proc.returncode != 0 or not result_file.is_file():
            raise AssertionError(
                f"scenario {Path(script).name} failed (exit {proc.returncode}):\n{output[-6000:]}"
            )
        if STRAY_CONNECTION in output:
            raise AssertionError(f"scenario {Path(script).name} joined another Ray instance")
        return ScenarioRun(json.loads(result_file.read_text()), output, logs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _worker_logs(tmp: Path) -> dict[int, str]:
    """Stdout and stderr of every Ray worker process (``worker-<id>-<job>-<pid>.out|err``)."""
    logs: dict[int, str] = {}
    for path in sorted(tmp.glob("ray/session_latest/logs/worker-*")):
        pid = int(path.stem.rsplit("-", 1)[-1])
        with contextlib.suppress(OSError):
            logs[pid] = logs.get(pid, "") + path.read_text(errors="replace")
    return logs


def scenario_main(scenario: Callable[..., dict[str, Any]]) -> None:
    """Child entry point: ``script --result FILE '<json kwargs>'`` -> ``scenario(**kwargs)``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--result", required=True)
    parser.add_argument("kwargs")
    args = parser.parse_args()
    result = scenario(**json.loads(args.kwargs))
    Path(args.result).write_text(json.dumps(result, default=str))


@contextlib.contextmanager
def local_cluster(
    head: dict[str, Any], workers: list[dict[str, Any]], system_config: dict | None = None
) -> Iterator[tuple[Any, list[Any]]]:
    """A connected head plus ``workers`` (``add_node`` kwargs each); torn down on exit."""
    import ray
    from ray.cluster_utils import Cluster

    ray.shutdown()
    head_args = {"include_dashboard": False, **head}
    if system_config:
        head_args["_system_config"] = system_config
    cluster = Cluster(initialize_head=True, head_node_args=head_args)
    # Any implicit ray.init() (a Serve background thread after shutdown, say) must come back
    # here, never join another Ray instance it finds running on this machine.
    os.environ["RAY_ADDRESS"] = cluster.address
    try:
        nodes = [cluster.add_node(**spec) for spec in workers]
        cluster.wait_for_nodes()
        cluster.connect()
        yield cluster, nodes
    finally:
        if "ray.serve" in sys.modules and ray.is_initialized():
            from ray import serve

            serve.shutdown()
        ray.shutdown()
        cluster.shutdown()


def actor_nodes() -> dict[int, str]:
    """Process id -> node id of every actor the cluster has run (dead ones included)."""
    import ray

    table = ray._private.state.actors()
    return {int(info["Pid"]): info["Address"]["NodeID"] for info in table.values() if info["Pid"]}


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    """Poll ``predicate`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
