"""configs/serve_production.yaml deployed, as ``serve run``/``serve deploy`` do, on 3 nodes.

Cluster (child process, see :mod:`tests.cluster.harness`): a head, a CPU worker and a worker
declaring ``num_gpus=1`` (no CUDA here), with CPU counts large enough for every minimum
replica (Ray resources are declarations, not cores). The config is the production file with
only what cannot work on one machine replaced: the s3 registry by an empty local one
(neural replicas then answer "no model" for every symbol), the state file by a temporary
path, a free port and one proxy instead of a proxy per node on port 8000. The real
application must reach RUNNING with every deployment at its ``min_replicas``, put the state
replica on the head node and the quarter-GPU neural replicas on the GPU node, and answer
``/healthz`` with every deployment healthy.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.harness import local_cluster, run_scenario, scenario_main, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.ray]

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "configs" / "serve_production.yaml"


def local_config(workdir: Path, port: int) -> dict[str, Any]:
    """The production config with the machine-specific parts pointed at this machine."""
    config = yaml.safe_load(CONFIG.read_text())
    config["proxy_location"] = "HeadOnly"
    config["http_options"].update(host="127.0.0.1", port=port)
    (app,) = config["applications"]
    (workdir / "registry").mkdir()
    app["args"].update(registry=str(workdir / "registry"), state_db=str(workdir / "state.db"))
    return config


def replica_nodes(app: str) -> dict[str, list[str]]:
    """Deployment name -> node ids of its ALIVE replicas."""
    import ray

    out: dict[str, list[str]] = {}
    for actor in ray._private.state.actors(actor_state_name="ALIVE").values():
        prefix, _, rest = actor["Name"].partition("::")
        if prefix == "SERVE_REPLICA" and rest.startswith(f"{app}#"):
            deployment = rest.split("#")[1]
            out.setdefault(deployment, []).append(actor["Address"]["NodeID"])
    return out


def scenario(workdir: str) -> dict[str, Any]:
    import os

    os.environ.setdefault("SMARTMARKET_API_KEY", "cluster-test-key")  # the nodes inherit it
    import httpx
    from ray import serve
    from ray.serve._private import api as serve_api
    from ray.serve.schema import ServeDeploySchema

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    schema = ServeDeploySchema.model_validate(local_config(Path(workdir), port))
    (app,) = schema.applications
    workers = [{"num_cpus": 8}, {"num_cpus": 4, "num_gpus": 1}]
    with local_cluster({"num_cpus": 4}, workers) as (cluster, (_, gpu_worker)):
        client = serve_api.serve_start(
            http_options=schema.http_options.model_dump(), proxy_location=schema.proxy_location
        )
        client.deploy_apps(schema)
        started = time.monotonic()
        running = wait_until(
            lambda: serve.status().applications[app.name].status == "RUNNING", timeout=240
        )
        status = serve.status().applications[app.name]
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
        return {
            "running": running,
            "seconds_to_running": round(time.monotonic() - started, 1),
            "status": str(status.status),
            "message": status.message,
            "head_node": cluster.head_node.node_id,
            "gpu_node": gpu_worker.node_id,
            "replicas": replica_nodes(app.name),
            "health_code": health.status_code,
            "health": health.json(),
        }


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    return run_scenario(__file__, timeout=420, workdir=str(tmp_path_factory.mktemp("prod")))


@pytest.fixture(scope="module")
def deployments() -> dict[str, dict[str, Any]]:
    (app,) = yaml.safe_load(CONFIG.read_text())["applications"]
    return {dep["name"]: dep for dep in app["deployments"]}


def test_the_production_app_reaches_running(run) -> None:
    assert run.result["running"], (run.result["message"], run.output[-4000:])


def test_every_deployment_starts_at_its_minimum_replicas(run, deployments) -> None:
    counts = {name: len(nodes) for name, nodes in run.result["replicas"].items()}
    expected = {
        name: dep["autoscaling_config"]["min_replicas"]
        if "autoscaling_config" in dep
        else dep["num_replicas"]
        for name, dep in deployments.items()
    }
    assert counts == expected


def test_state_runs_on_the_head_and_neural_replicas_on_the_gpu_node(run) -> None:
    replicas = run.result["replicas"]
    assert replicas["StateDeployment"] == [run.result["head_node"]]
    for name in ("TransformerDeployment", "CnnLstmDeployment"):
        assert set(replicas[name]) == {run.result["gpu_node"]}, name


def test_healthz_reports_every_deployment_ok(run) -> None:
    assert run.result["health_code"] == 200, run.result["health"]
    assert set(run.result["health"]["deployments"].values()) == {"ok"}


if __name__ == "__main__":
    scenario_main(scenario)
