"""Where an application's ingress replicas serve HTTP themselves (Serve's direct ingress).

With ``RAY_SERVE_THROUGHPUT_OPTIMIZED=1`` every ingress replica also listens on a port of
its own (Serve allocates them from 30000 up), beside the proxy's port. A request sent there
skips the proxy, a whole hop: on 2 cores 49 -> 40 ms p50 at concurrency 1 and 48 -> 61
req/s at 32 (``scripts/bench_serve.py`` measures both paths). The proxy's port keeps
working for everything. Serve publishes these ports as the application's target groups,
which is what a load balancer in front of a cluster reads (Serve's HAProxy mode, or the
dashboard's ``GET /api/serve/applications/`` -> ``target_groups``).
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)

_ANY_HOST = ("0.0.0.0", "::", "")


def direct_ingress_urls(app_name: str, host: str | None = None) -> list[str]:
    """HTTP base URLs of ``app_name``'s ingress replicas; empty when direct ingress is off.

    ``host`` is the HTTP host Serve was started with: replicas bind it, so a specific
    address (``127.0.0.1``) is where they answer; with ``0.0.0.0`` the node's address is
    used. Asked of the Serve controller of the connected Ray cluster (its target groups;
    Ray 2.60 offers no public call for them in Python, so any failure means "none").
    """
    try:
        import ray
        from ray.serve.context import _get_global_client
        from ray.serve.schema import ServeInstanceDetails

        client = _get_global_client()
        if client is None:
            raise RuntimeError("not connected to Serve")
        controller = client._controller
        details = ServeInstanceDetails(**ray.get(controller.get_serve_instance_details.remote()))
    except Exception as exc:  # an internal API: never let it break the caller
        logger.debug("direct ingress ports unavailable: %s", exc)
        return []
    urls = []
    for group in details.target_groups:
        # proxy target groups name no ingress deployment; only replicas' ports count
        if group.app_name != app_name or not group.ingress_deployment_name:
            continue
        if str(getattr(group.protocol, "value", group.protocol)).upper() != "HTTP":
            continue
        for target in group.targets:
            address = target.ip if host is None or host in _ANY_HOST else host
            urls.append(f"http://{address}:{target.port}")
    return sorted(set(urls))
