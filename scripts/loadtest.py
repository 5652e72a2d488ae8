"""Bounded load on the prediction API: errors, latency percentiles and replica memory.

Starts the app on a local Ray on 127.0.0.1 (the Serve config ``--config``, small models
trained into a temporary registry unless ``--registry``), or targets a running one with
``--url`` (loopback only). Sends ``--requests`` real ``--bars``-candle ``/v1/predict``
requests, ``--concurrency`` in flight, drawn from distinct windows of ``--symbols``, and
stops by itself after them or after ``--duration-limit`` seconds. Resident memory (RSS, via
psutil) of the app's Ray worker processes is sampled after a warm-up, at half-time and at
the end. Target: zero errors and no memory growth beyond noise; exit status 1 if missed.

    python scripts/loadtest.py                                  # 20,000 requests, 32 in flight
    python scripts/loadtest.py --requests 2000 --concurrency 8
    python scripts/loadtest.py --url http://127.0.0.1:8000 --app-name smartmarket
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a file: make the project importable
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("RAY_SERVE_THROUGHPUT_OPTIMIZED", "1")  # before Ray starts
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local, single-user Ray
os.environ.setdefault("POLARS_MAX_THREADS", "1")

from models.benchmark import require_positive  # noqa: E402
from models.cli import UsageError, run_cli  # noqa: E402
from models.data.paths import default_data_dir  # noqa: E402
from scripts.launch.local_app import wait_healthy  # noqa: E402

APP_NAME = "loadtest"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
MB = 1024 * 1024


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", help="a running app on loopback (default: start one here)")
    p.add_argument("--app-name", default="smartmarket", help="its Serve app name (with --url)")
    p.add_argument("--requests", type=int, default=20_000, help="requests to send")
    p.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    p.add_argument("--duration-limit", type=float, default=1800.0, help="stop after, seconds")
    p.add_argument("--warmup", type=int, default=200, help="untimed requests first")
    p.add_argument("--bars", type=int, default=256, help="candles per request")
    p.add_argument("--windows", type=int, default=256, help="distinct windows per symbol")
    p.add_argument("--symbols", nargs="+", default=["BTCUSDT", "ETHUSDT"])
    p.add_argument("--data", type=Path, default=default_data_dir(), help="candle directory")
    p.add_argument("--registry", help="model registry (default: train small models)")
    p.add_argument("--config", type=Path, default=ROOT / "configs" / "serve_local.yaml")
    p.add_argument("--num-cpus", type=float, default=2.0, help="CPUs of the local Ray")
    p.add_argument("--key-env", default="SMARTMARKET_API_KEY", help="send this key if set")
    p.add_argument("--max-growth-mb", type=float, default=64.0, help="memory noise allowance")
    args = p.parse_args(argv)
    require_positive(args, "requests", "concurrency", "bars", "windows")
    if args.duration_limit <= 0 or args.warmup < 0 or args.max_growth_mb < 0:
        raise UsageError("--duration-limit must be > 0, --warmup and --max-growth-mb >= 0")
    if args.url is not None and urlsplit(args.url).hostname not in LOOPBACK:
        raise UsageError(f"--url must be on loopback ({', '.join(LOOPBACK)}), got {args.url}")
    return args


# --- request bodies --------------------------------------------------------------------------
def request_bodies(data: Path, symbols: Sequence[str], bars: int, n: int) -> list[bytes]:
    """``n`` distinct real windows per symbol from its last year, as ready JSON bodies."""
    from models.data.loader import load_market_data

    frames = load_market_data(data, symbols=list(symbols))
    out = []
    for symbol, frame in frames.items():
        if frame.height < bars + n:
            raise UsageError(f"--symbols: {symbol} has {frame.height} candles; need {bars + n}")
        start = frame.height - min(frame.height, 24 * 365)
        ends = random.Random(0).sample(range(start + bars, frame.height + 1), n)
        for end in ends:
            rows = frame.slice(end - bars, bars).to_dicts()
            candles = [{**r, "timestamp": r["timestamp"].isoformat()} for r in rows]
            out.append(json.dumps({"symbol": symbol, "candles": candles}).encode())
    random.Random(1).shuffle(out)
    return out


def train_small(data: Path, symbols: Sequence[str], root: Path) -> str:
    """Small, briefly trained models of both networks per symbol (a realistic serving load;
    their quality does not matter here)."""
    from models.data.loader import load_market_data
    from models.registry import ModelRegistry
    from models.training.artifacts import publish_brief_models
    from models.training.dataset import prepare_symbol_data

    sizes = {
        "transformer": {"d_model": 32, "nhead": 4, "num_layers": 2},
        "cnn_lstm": {"channels": 32, "hidden": 32, "lstm_layers": 2},
    }
    for symbol, frame in load_market_data(data, symbols=list(symbols)).items():
        prepared = prepare_symbol_data(frame.tail(4000), seq_len=32)
        publish_brief_models(ModelRegistry(root), symbol, prepared, sizes, max_batches=10)
    return str(root)


# --- the app and its processes ---------------------------------------------------------------
def start_app(args: argparse.Namespace, registry: str, workdir: Path) -> str:
    """Local Ray + Serve with the app of ``--config`` on a free loopback port; its URL."""
    from scripts.launch.local_app import start_local_app

    state_db = str(workdir / "state.db")
    return start_local_app(
        args.config, APP_NAME, args.num_cpus, registry=registry, state_db=state_db, symbols=None
    )


def _psutil():
    try:
        import psutil
    except ImportError:
        raise UsageError("psutil is needed for the memory figures: pip install psutil") from None
    return psutil


def app_processes(app_name: str, own: bool) -> dict[str, list]:
    """Label -> processes: the app's replicas (``ray::ServeReplica:<app>:<deployment>``)
    and, when Ray runs under this process, its proxy and controller too."""
    from scripts.launch.local_app import serve_process_label

    psutil = _psutil()
    candidates = psutil.Process().children(recursive=True) if own else psutil.process_iter()
    groups: dict[str, list] = {}
    for proc in candidates:
        try:
            title = (proc.cmdline() or [""])[0]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        label = serve_process_label(title, app_name)
        if label is None or (not own and not title.startswith("ray::ServeReplica:")):
            continue
        groups.setdefault(label, []).append(proc)
    return groups


def rss_mb(groups: dict[str, list]) -> dict[str, float]:
    """Resident memory per label, MB (a process that exited counts as 0)."""
    psutil = _psutil()
    out = {}
    for label, procs in groups.items():
        total = 0
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        out[label] = total / MB
    return out


# --- the load --------------------------------------------------------------------------------
@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    degraded: int = 0
    unavailable: Counter[str] = field(default_factory=Counter)  # "<model> <status>" of those
    sent: int = 0
    wall_s: float = 0.0
    stopped_early: bool = False


async def run_load(
    url: str,
    bodies: Sequence[bytes],
    total: int,
    concurrency: int,
    limit_s: float,
    headers: dict[str, str],
    at_half: Callable[[], None] | None = None,
) -> LoadResult:
    """``total`` requests with ``concurrency`` in flight; never raises for a failed one."""
    import httpx

    result = LoadResult()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.perf_counter()
    half = asyncio.Event()

    async def worker(client: httpx.AsyncClient) -> None:
        while result.sent < total:
            if time.perf_counter() - started > limit_s:
                result.stopped_early = True
                return
            body = bodies[result.sent % len(bodies)]
            result.sent += 1
            if result.sent == total // 2:
                half.set()
            t0 = time.perf_counter()
            try:
                r = await client.post("/v1/predict", content=body, headers=headers)
            except httpx.HTTPError as exc:
                result.errors[type(exc).__name__] += 1
                continue
            result.latencies_ms.append((time.perf_counter() - t0) * 1000.0)
            if r.status_code != 200:
                result.errors[f"HTTP {r.status_code}"] += 1
                continue
            answer = r.json()
            if answer.get("degraded"):
                result.degraded += 1
                for name, status in answer.get("unavailable", {}).items():
                    result.unavailable[f"{name} {status.split(':')[0]}"] += 1

    async def sample_at_half() -> None:
        await half.wait()
        if at_half is not None:
            await asyncio.to_thread(at_half)

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60.0) as client:
        sampler = asyncio.create_task(sample_at_half())
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        sampler.cancel()
    result.wall_s = time.perf_counter() - started
    return result


# --- report ----------------------------------------------------------------------------------
def _pct(values: Sequence[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1] if len(values) > 1 else 0.0


def latency_table(result: LoadResult, concurrency: int) -> str:
    lat = result.latencies_ms
    done = len(lat)
    rate = done / result.wall_s if result.wall_s else 0.0
    errors = sum(result.errors.values())
    lines = [
        "| requests | concurrency | errors | degraded | p50 ms | p90 ms | p95 ms | p99 ms "
        "| max ms | req/s | wall s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {result.sent} | {concurrency} | {errors} | {result.degraded} "
        f"| {_pct(lat, 50):.0f} | {_pct(lat, 90):.0f} | {_pct(lat, 95):.0f} "
        f"| {_pct(lat, 99):.0f} | {max(lat, default=0):.0f} | {rate:.1f} | {result.wall_s:.0f} |",
    ]
    for what, counts in (("errors", result.errors), ("degraded by", result.unavailable)):
        if counts:
            lines.append(f"{what}: " + ", ".join(f"{k} x{v}" for k, v in counts.most_common()))
    return "\n".join(lines)


def memory_table(samples: dict[str, dict[str, float]]) -> str:
    labels = sorted({label for sample in samples.values() for label in sample})
    names = list(samples)
    head = "| process (RSS MB) | " + " | ".join(names) + " | growth |"
    lines = [head, "|---|" + "---:|" * (len(names) + 1)]
    rows = [(label, [samples[n].get(label, 0.0) for n in names]) for label in labels]
    rows.append(("total", [sum(samples[n].values()) for n in names]))
    for label, values in rows:
        cells = " | ".join(f"{v:.0f}" for v in values)
        lines.append(f"| {label} | {cells} | {values[-1] - values[0]:+.0f} |")
    return "\n".join(lines)


def verdict(result: LoadResult, samples: dict[str, dict[str, float]], allowance: float) -> bool:
    """Print the targets and return whether both were met.

    Memory is judged over the second half of the load: the first half includes caches and
    allocator pools filling up once (a plateau); a leak keeps growing after it.
    """
    errors = sum(result.errors.values())
    warm, half, end = (sum(samples[k].values()) for k in ("warm", "half", "end"))
    growth = end - half
    noise = max(allowance, 0.03 * half)
    print(f"target zero errors: {errors} errors -> {'met' if errors == 0 else 'MISSED'}")
    print(f"target no memory growth beyond noise: second half {growth:+.0f} MB (noise "
          f"<= {noise:.0f} MB; first half {half - warm:+.0f} MB) -> "
          f"{'met' if growth <= noise else 'MISSED'}")  # fmt: skip
    if result.stopped_early:
        print(f"stopped at --duration-limit after {result.sent} requests")
    return errors == 0 and growth <= noise


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    key = os.environ.get(args.key_env, "")
    headers = {"content-type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    bodies = request_bodies(args.data, args.symbols, args.bars, args.windows)
    with tempfile.TemporaryDirectory(prefix="loadtest_") as tmp:
        url, app_name, own = args.url, args.app_name, args.url is None
        if own:
            registry = args.registry
            if registry is None:
                print("training small models into a temporary registry ...", flush=True)
                registry = train_small(args.data, args.symbols, Path(tmp))
            print(f"starting the app on {args.num_cpus:g} CPUs ...", flush=True)
            url, app_name = start_app(args, registry, Path(tmp)), APP_NAME
        try:
            return _measure(args, url.rstrip("/"), app_name, own, bodies, headers)
        finally:
            if own:
                from ray import serve

                serve.shutdown()


def _measure(
    args: argparse.Namespace,
    url: str,
    app_name: str,
    own: bool,
    bodies: Sequence[bytes],
    headers: dict[str, str],
) -> int:
    """Warm up, sample memory, load (sampling at half-time), sample again, report."""
    wait_healthy(url, 180.0, headers=headers, interval_s=0.5)
    groups = app_processes(app_name, own)
    if not groups:
        raise UsageError(f"no Ray worker processes of app {app_name!r} on this machine")
    print(f"warm-up: {args.warmup} requests ...", flush=True)
    asyncio.run(run_load(url, bodies, args.warmup, args.concurrency, args.duration_limit, headers))
    samples = {"warm": rss_mb(groups)}
    print(f"load: {args.requests} requests, {args.concurrency} in flight ...", flush=True)
    result = asyncio.run(
        run_load(
            url, bodies, args.requests, args.concurrency, args.duration_limit, headers,
            at_half=lambda: samples.__setitem__("half", rss_mb(groups)),
        )
    )  # fmt: skip
    samples.setdefault("half", rss_mb(groups))
    samples["end"] = rss_mb(groups)
    print(f"\n{url}/v1/predict, {args.bars} candles per request, symbols "
          f"{' '.join(args.symbols)}, {len(bodies)} distinct windows\n")  # fmt: skip
    print(latency_table(result, args.concurrency))
    print()
    print(memory_table(samples))
    print()
    return 0 if verdict(result, samples, args.max_growth_mb) else 1


if __name__ == "__main__":
    sys.exit(run_cli(main))
