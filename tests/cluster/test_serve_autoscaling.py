"""Serve autoscaling on a two-worker cluster: 1 replica idle, up to 3 under load, 1 again after.

Cluster (child process, see :mod:`tests.cluster.harness`): a head for the controller and two
one-CPU workers; replicas ask for a quarter CPU so three fit. The deployment (a small
stand-in whose requests take a fixed 0.3 s, so load is easy to dose) has the same kind of
``autoscaling_config`` as configs/serve_production.yaml with short delays:
``min_replicas`` 1, ``max_replicas`` 3, ``target_ongoing_requests`` 1. Twelve concurrent
callers keep ~12 requests in flight, far above 1 per replica; then the load stops. The
number of RUNNING replicas is read from ``serve.status()`` every 0.25 s.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from tests.cluster.harness import local_cluster, run_scenario, scenario_main, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.ray]

APP = "busy"
DEPLOYMENT = "Busy"
AUTOSCALING = {
    "min_replicas": 1,
    "max_replicas": 3,
    "target_ongoing_requests": 1,
    "upscale_delay_s": 0.5,
    "downscale_delay_s": 2.0,
    "metrics_interval_s": 0.5,
    "look_back_period_s": 1.5,
}


def build_busy() -> Any:
    from ray import serve

    @serve.deployment(
        name=DEPLOYMENT,
        autoscaling_config=AUTOSCALING,
        max_ongoing_requests=8,
        ray_actor_options={"num_cpus": 0.25},
    )
    class Busy:
        async def __call__(self) -> str:
            await asyncio.sleep(0.3)
            return "ok"

    return Busy.bind()


def running_replicas() -> int:
    from ray import serve

    deployment = serve.status().applications[APP].deployments[DEPLOYMENT]
    return int(deployment.replica_states.get("RUNNING", 0))


def load(handle: Any, callers: int, stop: threading.Event, answers: list[str]) -> None:
    """``callers`` concurrent request loops through ``handle`` until ``stop`` is set."""

    async def caller() -> None:
        while not stop.is_set():
            answers.append(await handle.remote())

    async def main() -> None:
        await asyncio.gather(*(caller() for _ in range(callers)))

    asyncio.run(main())


def scenario() -> dict[str, Any]:
    from ray import serve

    timeline: list[tuple[float, str, int]] = []
    started = time.monotonic()

    def sample(phase: str) -> int:
        count = running_replicas()
        timeline.append((round(time.monotonic() - started, 2), phase, count))
        return count

    with local_cluster({"num_cpus": 0}, [{"num_cpus": 1}, {"num_cpus": 1}]):
        serve.start(proxy_location="Disabled")
        handle = serve.run(build_busy(), name=APP, route_prefix=None)
        idle = wait_until(lambda: sample("idle") == 1, timeout=30)
        stop, answers = threading.Event(), []
        loader = threading.Thread(target=load, args=(handle, 12, stop, answers), daemon=True)
        loader.start()
        scaled_up = wait_until(lambda: sample("load") == AUTOSCALING["max_replicas"], timeout=60)
        stop.set()
        loader.join(timeout=30)
        scaled_down = wait_until(lambda: sample("after") == 1, timeout=60)
        return {
            "idle": idle,
            "scaled_up": scaled_up,
            "scaled_down": scaled_down,
            "answers": len(answers),
            "bad_answers": sum(a != "ok" for a in answers),
            "timeline": timeline,
        }


@pytest.fixture(scope="module")
def run():
    return run_scenario(__file__, timeout=240)


def _counts(run, phase: str) -> list[int]:
    return [count for _, p, count in run.result["timeline"] if p == phase]


def test_one_replica_while_idle(run) -> None:
    assert run.result["idle"]
    assert _counts(run, "idle")[-1] == 1


def test_scales_up_to_max_replicas_under_load(run) -> None:
    assert run.result["scaled_up"], run.result["timeline"]
    assert max(_counts(run, "load")) == AUTOSCALING["max_replicas"]
    assert run.result["answers"] > 0 and run.result["bad_answers"] == 0


def test_never_exceeds_max_replicas(run) -> None:
    assert max(count for _, _, count in run.result["timeline"]) <= AUTOSCALING["max_replicas"]


def test_scales_back_down_to_min_replicas_after_load(run) -> None:
    assert run.result["scaled_down"], run.result["timeline"]
    assert _counts(run, "after")[-1] == AUTOSCALING["min_replicas"]


if __name__ == "__main__":
    scenario_main(scenario)
