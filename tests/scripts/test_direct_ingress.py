"""Serve's direct ingress: the ingress replica's own port is found and answers like the proxy.

Runs in a child interpreter (:mod:`tests.cluster.harness`): throughput-optimised mode must be
set before Ray is imported, and the test session's Ray runs in the default mode.
"""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest

from tests.cluster.harness import run_scenario, scenario_main

pytestmark = [pytest.mark.slow, pytest.mark.ray]

APP = "direct"


def scenario() -> dict[str, Any]:
    os.environ["RAY_SERVE_THROUGHPUT_OPTIMIZED"] = "1"  # before Ray is imported
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import httpx
    import ray
    from fastapi import FastAPI
    from ray import serve

    from scripts.launch.direct_ingress import direct_ingress_urls

    api = FastAPI()

    @serve.deployment(ray_actor_options={"num_cpus": 0.1})
    @serve.ingress(api)
    class Echo:
        @api.get("/who")
        def who(self) -> dict[str, int]:
            return {"pid": os.getpid()}

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(Echo.bind(), name=APP, route_prefix="/")
        urls = direct_ingress_urls(APP, "127.0.0.1")
        via_proxy = httpx.get(f"http://127.0.0.1:{port}/who", timeout=30).json()
        direct = [httpx.get(f"{u}/who", timeout=30).json() for u in urls]
        return {
            "port": port,
            "urls": urls,
            "other_app": direct_ingress_urls("no-such-app", "127.0.0.1"),
            "via_proxy": via_proxy,
            "direct": direct,
        }
    finally:
        serve.shutdown()
        ray.shutdown()


def test_direct_ingress_port_is_the_ingress_replica_itself() -> None:
    seen = run_scenario(__file__, timeout=240).result
    assert len(seen["urls"]) == 1, seen
    url = seen["urls"][0]
    assert url.startswith("http://127.0.0.1:") and not url.endswith(f":{seen['port']}")
    assert seen["direct"] == [seen["via_proxy"]]  # same replica process answers both
    assert seen["other_app"] == []


if __name__ == "__main__":
    scenario_main(scenario)
