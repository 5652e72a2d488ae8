"""The whole app on a local Ray, and which of the machine's processes belong to it: what
the benchmark and the load test start and measure (``scripts/bench_serve.py``,
``scripts/loadtest.py``)."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

DEFAULT_KEY_ENV = "SMARTMARKET_API_KEY"


def ensure_api_key(env_name: str = DEFAULT_KEY_ENV) -> tuple[str, bool]:
    """The API key in ``$env_name``; a random one is made and set there (so the local Ray
    started after this, and its replicas, inherit it) when none is. Returns the key and
    whether it was made here. Writes fail closed: a local run gets a key, not open writes."""
    key = os.environ.get(env_name, "")
    if key:
        return key, False
    key = "smk-" + secrets.token_urlsafe(24)
    os.environ[env_name] = key
    return key, True


def key_header(env_name: str = DEFAULT_KEY_ENV) -> dict[str, str]:
    """``Authorization: Bearer <key>`` for the key in ``$env_name`` (empty when unset)."""
    key = os.environ.get(env_name, "")
    return {"Authorization": f"Bearer {key}"} if key else {}


def start_local_app(
    config_path: Path | None, app_name: str, num_cpus: float, **settings: Any
) -> str:
    """Local Ray + Serve with the app of ``config_path`` (its ``args`` overridden by
    ``settings``) on a free loopback port; returns the proxy's base URL. Writes need the key
    in ``$api_key_env``, made for this run when unset (:func:`key_header` sends it)."""
    import ray
    from ray import serve

    from deployments.app import compose
    from deployments.config_file import ServeConfig, load_serve_config
    from deployments.settings import AppSettings

    config = load_serve_config(config_path) if config_path else ServeConfig()
    app_settings = AppSettings.parse(config.args, **settings)
    if not app_settings.allow_open_writes:
        ensure_api_key(app_settings.api_key_env)  # before ray.init: the replicas inherit it
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


def wait_healthy(
    url: str,
    timeout_s: float,
    *,
    headers: dict[str, str] | None = None,
    server: subprocess.Popen[Any] | None = None,
    interval_s: float = 1.0,
) -> None:
    """Poll ``{url}/healthz`` until it answers 200; ``UsageError`` after ``timeout_s`` or as
    soon as ``server`` (the service's process, when this run started it) has exited."""
    import httpx

    from models.cli import UsageError

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server is not None and server.poll() is not None:
            raise UsageError(f"the service exited early (exit {server.returncode})")
        try:
            if httpx.get(f"{url}/healthz", headers=headers, timeout=10).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(interval_s)
    raise UsageError(f"{url}/healthz did not answer 200 within {timeout_s:.0f} s")
