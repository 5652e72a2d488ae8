"""Start the real app with a feed pointed at a fake exchange (end-to-end test, benchmark).

Deploys ``deployments.app`` under its own name and route prefix on the running Serve
instance (starting it on a free port when none runs), with light replicas, and gives an
HTTP client for it, the replica names of a deployment (to kill one), and a read-only view
of the SQLite state (to count what was stored).
"""

from __future__ import annotations

import secrets
import socket
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import ray
from ray import serve

from deployments.app import DEPLOYMENTS, compose
from deployments.settings import AppSettings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FeedApp:
    """The app with a feed; ``close`` deletes it (Serve itself stays for other tests)."""

    def __init__(
        self,
        name: str,
        state_db: Path,
        feed: dict[str, Any],
        trading: dict[str, Any] | None = None,
    ) -> None:
        from ray.serve.context import _get_global_client

        try:
            port = _get_global_client().http_config.port
        except Exception:
            port = _free_port()
            serve.start(http_options={"host": "127.0.0.1", "port": port})
        self.name, self.prefix, self.state_db = name, f"/{name}", state_db
        extra = {"trading": trading} if trading is not None else {}
        self.settings = AppSettings.parse(state_db=str(state_db), feed=feed, **extra)
        self.key = secrets.token_hex(16)  # writes need a key (the app fails closed)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}{self.prefix}", timeout=30)

    def deploy(self) -> None:
        light = {"ray_actor_options": {"num_cpus": 0.1}}
        options: dict[str, Any] = dict.fromkeys(DEPLOYMENTS, light)
        env = {"env_vars": {self.settings.api_key_env: self.key}}
        options["ingress"] = {"ray_actor_options": {"num_cpus": 0.1, "runtime_env": env}}
        serve.run(
            compose(self.settings, options=options),
            name=self.name,
            route_prefix=self.prefix,
        )

    def restart(self) -> None:
        """Delete the whole app (every replica stops), then deploy it again."""
        serve.delete(self.name)
        self.deploy()

    def feed(self) -> dict[str, Any]:
        response = self.client.get("/v1/feed")
        response.raise_for_status()
        return response.json()

    def wait(
        self, check, timeout_s: float = 90.0, what: str = "condition", path: str = "/v1/feed"
    ) -> dict[str, Any]:
        """Poll ``GET path`` until ``check(body)`` holds (bounded)."""
        deadline = time.monotonic() + timeout_s
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                response = self.client.get(path)
                response.raise_for_status()
                body = response.json()
                if check(body):
                    return body
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{what} not reached in {timeout_s} s; last {path}: {body}")

    def kill(self, deployment: str = "FeedDeployment") -> str:
        prefix = f"SERVE_REPLICA::{self.name}#{deployment}#"
        names = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)]
        name = sorted(n for n in names if n.startswith(prefix))[0]
        ray.kill(ray.get_actor(name, namespace="serve"), no_restart=True)
        return name

    def query(self, sql: str) -> list[tuple]:
        conn = sqlite3.connect(f"file:{self.state_db}?mode=ro", uri=True)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    def close(self) -> None:
        self.client.close()
        serve.delete(self.name)
