"""Start the SmartMarket service in the foreground on a local Ray and say where it listens.

    python scripts/serve.py --registry registry --port 8000
    python scripts/serve.py --config configs/serve_local.yaml --registry registry
    python scripts/serve.py --registry registry --state-db state/smartmarket.db --host 0.0.0.0
    python scripts/serve.py --registry registry --metrics-port 8080   # Prometheus /metrics

Writes need the key in ``$SMARTMARKET_API_KEY`` (``api_key_env``); without one it refuses to
start unless the config's args say ``allow_open_writes: true``.

Flags override the config file (its application ``args`` and ``http_options``). Ctrl-C or
SIGTERM stops the service. Ray Serve's throughput-optimised mode is on unless
``RAY_SERVE_THROUGHPUT_OPTIMIZED`` is already set (it must be set before Ray starts).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a file: make the project importable
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("RAY_SERVE_THROUGHPUT_OPTIMIZED", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local, single-user Ray
os.environ.setdefault("POLARS_MAX_THREADS", "1")  # small frames, many replicas, few cores

from deployments.config_file import ServeConfig, load_serve_config  # noqa: E402
from deployments.settings import AppSettings  # noqa: E402
from models.cli import UsageError, run_cli  # noqa: E402

APP_NAME = "smartmarket"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", help="model registry root (path or s3:// URI)")
    parser.add_argument("--port", type=int, help="HTTP port (default: config's, else 8000)")
    parser.add_argument("--host", help="HTTP host (default: config's, else 127.0.0.1)")
    parser.add_argument("--config", type=Path, help="Serve config YAML (serve_local.yaml format)")
    parser.add_argument("--state-db", help="SQLite file of the serving state")
    parser.add_argument("--num-cpus", type=float, default=None, help="CPUs Ray may use")
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="port of Ray's Prometheus endpoint (/metrics; docs/metrics.md)",
    )
    return parser.parse_args(argv)


def resolve(args: argparse.Namespace) -> tuple[ServeConfig, AppSettings]:
    """Config file (if any) with the flags on top; settings validated."""
    config = load_serve_config(args.config) if args.config else ServeConfig()
    overrides = {"registry": args.registry, "state_db": args.state_db}
    app_args = {**config.args, **{k: v for k, v in overrides.items() if v is not None}}
    settings = AppSettings.parse(app_args)
    if settings.registry is None:
        raise UsageError("--registry is required (or args.registry in --config)")
    state_dir = Path(settings.state_db).expanduser().resolve().parent
    if not state_dir.is_dir():
        raise UsageError(f"--state-db: directory {state_dir} does not exist")
    if not os.environ.get(settings.api_key_env) and not settings.allow_open_writes:
        raise UsageError(
            f"${settings.api_key_env} is empty: writes (candles, outcomes, reloads) need a "
            f"key. Set it (e.g. export {settings.api_key_env}=$(openssl rand -hex 24)), or "
            "put allow_open_writes: true in the config's args to serve with every write open"
        )
    return config, settings


def wait_for_stop() -> None:
    """Block until SIGINT (Ctrl-C) or SIGTERM. Both are handled explicitly: a process
    started in the background by a shell inherits SIGINT as ignored."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    config, settings = resolve(args)
    if args.metrics_port is not None and not 0 < args.metrics_port < 65536:
        raise UsageError(f"--metrics-port: must be 1-65535, got {args.metrics_port}")
    host = args.host or config.host
    port = args.port or config.port

    import ray
    from ray import serve

    from deployments.app import compose
    from scripts.launch.direct_ingress import direct_ingress_urls

    ray.init(
        num_cpus=args.num_cpus,
        include_dashboard=False,
        log_to_driver=False,
        _metrics_export_port=args.metrics_port,
    )
    try:
        serve.start(http_options={"host": host, "port": port})
        serve.run(compose(settings, options=config.options), name=APP_NAME, route_prefix="/")
        url = f"http://{host}:{port}"
        print(f"SmartMarket listening on {url} (API docs: {url}/docs); Ctrl-C to stop", flush=True)
        for direct in direct_ingress_urls(APP_NAME, host):
            print(f"  direct ingress (same API, skips Serve's proxy hop): {direct}", flush=True)
        if args.metrics_port is not None:
            print(f"  metrics: http://127.0.0.1:{args.metrics_port}/metrics", flush=True)
        wait_for_stop()
        print("stopping", flush=True)
    finally:
        serve.shutdown()
        ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
