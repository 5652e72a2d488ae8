"""The whole app on a local Ray, and which of the machine's processes belong to it: what
the benchmark and the load test start and measure (``scripts/bench_serve.py``,
``scripts/loadtest.py``)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any


def start_local_app(
    config_path: Path | None, app_name: str, num_cpus: float, **settings: Any
) -> str:
    """Local Ray + Serve with the app of ``config_path`` (its ``args`` overridden by
    ``settings``) on a free loopback port; returns the proxy's base URL."""
    import ray
    from ray import serve

    from deployments.app import compose
    from deployments.config_file import ServeConfig, load_serve_config
    from deployments.settings import AppSettings

    config = load_serve_config(config_path) if config_path else ServeConfig()
    app_settings = AppSettings.parse(config.args, **settings)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ray.init(
        num_cpus=num_cpus,  # type: ignore[arg-type]  # Ray says int; --num-cpus is a float
        include_dashboard=False,
        log_to_driver=False,
    )
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    serve.run(compose(app_settings, options=config.options), name=app_name, route_prefix="/")
    return f"http://127.0.0.1:{port}"


def serve_process_label(title: str, app_name: str) -> str | None:
    """``app_name``'s deployment a Ray process serves (``ray::ServeReplica:<app>:<name>``),
    ``ProxyActor`` or ``ServeController`` for Serve's own, else None. A busy worker's title
    ends in ``.<method>``, which is dropped."""
    prefix = f"ray::ServeReplica:{app_name}:"
    if title.startswith(prefix):
        label = title[len(prefix) :]
    elif title.startswith(("ray::ProxyActor", "ray::ServeController")):
        label = title.removeprefix("ray::")
    else:
        return None
    return label.split()[0].split(".")[0]
