"""A SmartMarket Serve app of its own for the reliability tests, with the means to hurt it.

It runs next to the HTTP tests' app (``tests/deployments/conftest.py``) in the same Serve
instance, under its own name and route prefix, so neither redeploys the other: faults
injected here (killed replicas, a slowed predictor, a full restart) never reach their
tests. When Serve is already running (their fixture started it) its HTTP port is reused;
otherwise Serve is started here on a free loopback port.

The indicators predictor is replaced by :func:`delayable_indicators`, the real predictor
plus a ``set_delay`` knob, so a timeout can be injected into a live app without a redeploy.
"""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import ray
from ray import serve
from ray.serve.deployment import Deployment

from deployments.app import compose
from deployments.settings import AppSettings
from tests.conftest import SYMBOLS

APP_NAME = "reliability"
ROUTE = "/reliability"
KEY_ENV = "SMARTMARKET_API_KEY"
PROTECT_READS_ENV = "SMARTMARKET_PROTECT_READS"
MAX_CANDLES = 2_000
MAX_BODY = 1024 * 1024
DEADLINE_S = 1.0
VERSION_CHECK_S = 1.0
LIGHT = {"ray_actor_options": {"num_cpus": 0.1}}


def candles_json(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Candles as the API takes them (ISO timestamps)."""
    rows = frame.select("timestamp", "open", "high", "low", "close", "volume").to_dicts()
    return [{**r, "timestamp": r["timestamp"].isoformat()} for r in rows]


def delayable_indicators() -> Deployment:
    """The real indicators predictor with an injectable delay (built here so Ray pickles
    the class by value: replicas cannot import the ``tests`` package)."""
    import asyncio

    from deployments.rules import RulePredictor

    @serve.deployment(ray_actor_options={"num_cpus": 0.1}, max_ongoing_requests=64)
    class DelayableIndicators(RulePredictor):
        def __init__(self, name: str, settings: Any = None) -> None:
            RulePredictor.__init__(self, name, settings)
            self.delay_s = 0.0

        async def predict(self, windows: Any) -> Any:
            if self.delay_s > 0:
                await asyncio.sleep(self.delay_s)
            return await RulePredictor.predict(self, windows)

        async def set_delay(self, seconds: float) -> float:
            self.delay_s = float(seconds)
            return self.delay_s

    return DelayableIndicators


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_http_port() -> tuple[int, bool]:
    """The HTTP port of the running Serve instance, starting one if needed; and whether
    it was started here (then it is ours to shut down)."""
    try:
        ray.get_actor("SERVE_CONTROLLER_ACTOR", namespace="serve")
    except ValueError:
        port = _free_port()
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        return port, True
    from ray.serve.context import _get_global_client

    details = _get_global_client().get_serve_details()
    return int(details["http_options"]["port"]), False


@dataclass
class Registry:
    """The test registry and a way to publish one more (good) version of the model."""

    root: Path
    symbol: str
    model: str
    publish: Any


class ReliabilityApp:
    """The deployed app, an HTTP client on it, and fault injection."""

    def __init__(self, registry: Registry, state_db: Path, port: int) -> None:
        self.registry = registry
        self.key = "smk-" + secrets.token_hex(20)
        self.settings = AppSettings.parse(
            registry=str(registry.root),
            state_db=str(state_db),
            api_key_env=KEY_ENV,
            max_candles=MAX_CANDLES,
            max_body_bytes=MAX_BODY,
            deadline_s=DEADLINE_S,
            symbols=SYMBOLS,
        )
        self.base_url = f"http://127.0.0.1:{port}{ROUTE}"
        self.client = httpx.Client(base_url=self.base_url, timeout=60.0)
        self.protect_reads = False

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def _options(self) -> dict[str, Mapping[str, Any]]:
        env = {KEY_ENV: self.key}
        if self.protect_reads:
            env[PROTECT_READS_ENV] = "1"
        ingress = {"num_cpus": 0.1, "runtime_env": {"env_vars": env}}
        options: dict[str, Mapping[str, Any]] = {r: LIGHT for r in ("smc", "regime", "state")}
        options["ingress"] = {"ray_actor_options": ingress}
        options["cnn_lstm"] = {"user_config": {"version_check_s": VERSION_CHECK_S}}
        return options

    def deploy(self, protect_reads: bool = False) -> None:
        """Deploy (or redeploy in place) and wait until every deployment answers."""
        self.protect_reads = protect_reads
        replace = {"indicators": delayable_indicators()}
        app = compose(self.settings, replace=replace, options=self._options())
        serve.run(app, name=APP_NAME, route_prefix=ROUTE, blocking=False)
        self.wait_healthy()

    def restart(self) -> None:
        """Delete the whole app (every replica stops), then deploy it again."""
        serve.delete(APP_NAME)
        self.deploy(self.protect_reads)

    def wait_healthy(self, timeout_s: float = 120.0) -> float:
        """Seconds until ``/healthz`` answered 200 (TimeoutError past ``timeout_s``)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout_s:
            try:
                if self.client.get("/healthz", headers=self.auth).status_code == 200:
                    return time.monotonic() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        raise TimeoutError(f"{APP_NAME} was not healthy within {timeout_s} s")

    def handle(self, deployment: str) -> Any:
        return serve.get_deployment_handle(deployment, app_name=APP_NAME)

    def set_delay(self, seconds: float) -> None:
        """Make every indicators call take ``seconds`` longer (0 restores it)."""
        handle = self.handle("IndicatorsDeployment")  # a replacement keeps the role's name
        handle.set_delay.remote(seconds).result(timeout_s=30)

    def replicas(self, deployment: str) -> list[str]:
        """Names of the live replica actors of ``deployment`` (from the GCS: the state API
        needs the dashboard, which the test Ray instance does not run)."""
        prefix = f"SERVE_REPLICA::{APP_NAME}#{deployment}#"
        named = ray.util.list_named_actors(all_namespaces=True)
        return sorted(a["name"] for a in named if a["name"].startswith(prefix))

    def kill_replica(self, deployment: str) -> str:
        """Kill one replica of ``deployment`` the hard way (as a crash would); its name."""
        names = self.replicas(deployment)
        if not names:
            raise RuntimeError(f"no live replica of {deployment}")
        ray.kill(ray.get_actor(names[0], namespace="serve"), no_restart=True)
        return names[0]

    def close(self) -> None:
        self.client.close()
        serve.delete(APP_NAME)
