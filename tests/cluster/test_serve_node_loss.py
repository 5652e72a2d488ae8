"""Serve replicas spread over two nodes; one node is lost while requests flow; answers go on.

Cluster (child process, see :mod:`tests.cluster.harness`): a head that runs only the Serve
controller and the single HTTP proxy (``HeadOnly``, on a free port so it never collides with
another Serve on this machine) and two one-CPU workers. A two-replica deployment with
``max_replicas_per_node=1`` must place one replica per worker. A small echo app (it answers
with the node it runs on) stands in for the real deployments: what is tested is Serve's
placement and failover, and the node in each answer shows which replica served it. While a
client sends a steady stream of HTTP requests, the node of one replica is removed; a fresh
node is then added (as the autoscaler would) and Serve must bring the replica count back.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from tests.cluster.harness import (
    FAST_FAILURE_DETECTION,
    local_cluster,
    run_scenario,
    scenario_main,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.ray]

APP = "echo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_echo() -> Any:
    from ray import serve

    @serve.deployment(
        num_replicas=2,
        max_replicas_per_node=1,
        ray_actor_options={"num_cpus": 0.5},
        health_check_period_s=1,
        health_check_timeout_s=2,
    )
    class Echo:
        def __init__(self) -> None:
            import ray

            self.node = ray.get_runtime_context().get_node_id()

        async def __call__(self, request: Any) -> dict[str, str]:
            return {"node": self.node}

    return Echo.bind()


def replica_nodes() -> list[str]:
    """Node ids of the app's ALIVE replica actors."""
    import ray

    alive = ray._private.state.actors(actor_state_name="ALIVE").values()
    return sorted(
        a["Address"]["NodeID"] for a in alive if a["Name"].startswith(f"SERVE_REPLICA::{APP}#")
    )


class Client(threading.Thread):
    """Sends sequential requests until stopped; records (time, node or error) per request."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.stop = threading.Event()
        self.log: list[tuple[float, str | None, str | None]] = []

    def run(self) -> None:
        import httpx

        with httpx.Client(timeout=10) as http:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    reply = http.get(self.url)
                    reply.raise_for_status()
                    self.log.append((started, reply.json()["node"], None))
                except (httpx.HTTPError, KeyError, ValueError) as exc:
                    self.log.append((started, None, f"{type(exc).__name__}: {exc}"))
                time.sleep(0.02)


def scenario() -> dict[str, Any]:
    from ray import serve

    port = free_port()
    workers = [{"num_cpus": 1}, {"num_cpus": 1}]
    with local_cluster({"num_cpus": 0}, workers, FAST_FAILURE_DETECTION) as (cluster, nodes):
        serve.start(proxy_location="HeadOnly", http_options={"host": "127.0.0.1", "port": port})
        serve.run(build_echo(), name=APP, route_prefix="/echo")
        placed = replica_nodes()
        client = Client(f"http://127.0.0.1:{port}/echo")
        client.start()
        wait_until(lambda: len({n for _, n, _ in client.log if n}) == 2, timeout=30)
        victim = nodes[1]
        time.sleep(1.0)
        removed_at = time.monotonic()
        cluster.remove_node(victim, allow_graceful=False)
        time.sleep(5.0)
        replacement = cluster.add_node(num_cpus=1)
        healed = wait_until(lambda: len(set(replica_nodes())) == 2, timeout=60)
        time.sleep(1.0)
        client.stop.set()
        client.join(timeout=15)
        return {
            "worker_nodes": [n.node_id for n in nodes],
            "placed": placed,
            "victim": victim.node_id,
            "replacement": replacement.node_id,
            "healed": healed,
            "after_heal": replica_nodes(),
            "requests": [(t - removed_at, node, err) for t, node, err in client.log],
        }


@pytest.fixture(scope="module")
def run():
    return run_scenario(__file__, timeout=240)


def test_replicas_start_one_per_worker_node(run) -> None:
    assert sorted(run.result["placed"]) == sorted(run.result["worker_nodes"])


def test_both_replicas_answer_before_the_loss(run) -> None:
    before = {node for t, node, _ in run.result["requests"] if t < 0 and node}
    assert before == set(run.result["worker_nodes"])


def test_the_app_keeps_answering_from_the_surviving_node(run) -> None:
    victim = run.result["victim"]
    after = [(t, node, err) for t, node, err in run.result["requests"] if t >= 0]
    answered = [node for _, node, _ in after if node]
    failed = [err for _, node, err in after if node is None]
    assert len(answered) >= 20, after[:5]
    assert len(failed) <= 2, failed
    late = [node for t, node, _ in after if t > 3.0 and node]
    assert late and victim not in late


def test_serve_restores_two_replicas_on_two_nodes(run) -> None:
    assert run.result["healed"], run.output[-3000:]
    assert run.result["victim"] not in run.result["after_heal"]
    assert run.result["replacement"] in run.result["after_heal"]


if __name__ == "__main__":
    scenario_main(scenario)
