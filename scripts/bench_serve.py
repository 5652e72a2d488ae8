"""Serving latency and throughput over HTTP, next to the same ensemble computed in-process.

Starts the whole app on a local Ray (``--num-cpus``, default 2), sends bounded loads of
real ``--candles``-bar requests at each ``--concurrency`` level, and prints p50/p95/p99
latency and throughput beside the in-process pipeline on the same inputs (same code:
``models.serving.inprocess``), one request at a time and in batches of ``--batch`` (what the
ensemble deployment batches), each including the SQLite write of the pending prediction
the service makes. Each load goes through Serve's proxy and, in throughput-optimised mode
(the default here), straight to the ingress replica's own port (direct ingress, one hop
fewer: ``scripts/launch/direct_ingress.py``). Every level (and each in-process run) gets
its own ``--requests`` windows: a window sent twice would be answered from the lgbm
features' cache. Ends with the targets and whether this run met them, per path.

    python scripts/bench_serve.py                      # trains default-size models (temp registry)
    python scripts/bench_serve.py --model-size small   # scripts/train.py --small sizes
    python scripts/bench_serve.py --registry registry --requests 400
    RAY_SERVE_THROUGHPUT_OPTIMIZED=0 python scripts/bench_serve.py   # Serve's default mode
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("RAY_SERVE_THROUGHPUT_OPTIMIZED", "1")  # before Ray is imported
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("POLARS_MAX_THREADS", "1")  # small frames, many replicas, few cores

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from models.cli import UsageError, run_cli  # noqa: E402
from models.data.loader import load_ohlcv  # noqa: E402
from models.data.paths import default_data_dir  # noqa: E402

APP_NAME = "bench"

MODEL_SIZES: dict[str, tuple[dict[str, dict], int]] = {
    "default": ({"transformer": {}, "cnn_lstm": {}}, 64),
    "small": (
        {
            "transformer": {"d_model": 32, "nhead": 4, "num_layers": 2},
            "cnn_lstm": {"channels": 32, "hidden": 32, "lstm_layers": 2},
        },
        32,
    ),
}
"""``--model-size`` -> (hyperparameters per network, window length). ``default`` is the
networks' own defaults (Transformer d=256, 8 heads, 6 layers; 64-bar windows), the size the
issue's targets are stated for; ``small`` is what ``scripts/train.py --small`` searches."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--registry", help="registry with models for --symbol (default: train them)")
    p.add_argument("--model-size", choices=sorted(MODEL_SIZES), default="default",
                   help="size of the models trained when --registry is not given")  # fmt: skip
    p.add_argument("--data", type=Path, default=default_data_dir(), help="candle directory")
    p.add_argument("--symbol", default="BTCUSDT")
    p.add_argument("--candles", type=int, default=256, help="candles per request")
    p.add_argument("--requests", type=int, default=200, help="requests per level")
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    p.add_argument("--batch", type=int, default=16, help="in-process batch size")
    p.add_argument("--num-cpus", type=float, default=2.0, help="CPUs Ray may use")
    p.add_argument("--config", type=Path, default=ROOT / "configs" / "serve_local.yaml")
    p.add_argument(
        "--predictors",
        nargs="+",
        default=None,
        help="served predictors (registry names; default: every served one)",
    )
    args = p.parse_args(argv)
    if args.requests < 10 or args.candles < 1 or args.batch < 1:
        raise UsageError("--requests must be >= 10, --candles and --batch >= 1")
    return args


STAGES = ("features", "predictors", "combine", "store", "batch_size")


@dataclass(frozen=True)
class Row:
    mode: str
    concurrency: int
    p50: float
    p95: float
    p99: float
    throughput: float
    server_p50: float | None = None
    stages: dict[str, float] | None = None
    """Medians of the ensemble's ``timings_ms`` (Serve rows only)."""
    statuses: dict[str, dict[str, int]] | None = None
    """Member -> status -> answers (Serve rows only): a 200 can carry a member cut by the
    deadline or failed, which latency alone hides."""


def row(mode: str, concurrency: int, latencies_ms: Sequence[float], wall_s: float,
        server_ms: Sequence[float] = (), timings: Sequence[dict] = (),
        answers_models: Sequence[dict] = ()) -> Row:  # fmt: skip
    q = np.percentile(np.asarray(latencies_ms), [50, 95, 99])
    server = float(np.median(server_ms)) if len(server_ms) else None
    stages = None
    if timings:
        stages = {k: float(np.median([t.get(k, np.nan) for t in timings])) for k in STAGES}
    statuses = count_statuses(answers_models) if answers_models else None
    return Row(
        mode, concurrency, *map(float, q), len(latencies_ms) / wall_s, server, stages, statuses
    )


def count_statuses(answers_models: Sequence[dict]) -> dict[str, dict[str, int]]:
    """Member -> status -> how many answers carried it (each answer's ``models`` field)."""
    counts: dict[str, dict[str, int]] = {}
    for models in answers_models:
        for name, entry in models.items():
            by_status = counts.setdefault(name, {})
            by_status[entry["status"]] = by_status.get(entry["status"], 0) + 1
    return counts


def status_table(rows: Sequence[Row]) -> str:
    """Answers whose member was not ``ok``, per member and level (``-``: every one ok)."""
    served = [r for r in rows if r.statuses is not None]
    members = sorted({m for r in served for m in r.statuses or {}})
    lines = [
        "| path | concurrency | " + " | ".join(members) + " |",
        "|---|---:|" + "---|" * len(members),
    ]
    for r in served:
        cells = []
        for m in members:
            other = {s: n for s, n in (r.statuses or {}).get(m, {}).items() if s != "ok"}
            cells.append(", ".join(f"{s} {n}" for s, n in sorted(other.items())) or "-")
        lines.append(f"| {r.mode} | {r.concurrency} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def request_windows(candles: pl.DataFrame, n: int, bars: int) -> list[pl.DataFrame]:
    """``n`` distinct real windows (each ends one bar later), newest data first used."""
    if candles.height < bars + n:
        raise UsageError(f"--symbol has {candles.height} candles; need {bars + n}")
    start = candles.height - bars - n
    return [candles.slice(start + i, bars) for i in range(n)]


def train_models(candles: pl.DataFrame, symbol: str, root: Path, size: str) -> None:
    """Briefly trained models of ``size`` for ``symbol``: serving speed depends on the
    architecture, not on how long it trained."""
    from models.registry import ModelRegistry
    from models.training.artifacts import publish_brief_models
    from models.training.dataset import prepare_symbol_data

    networks, seq_len = MODEL_SIZES[size]
    data = prepare_symbol_data(candles.tail(4000), seq_len=seq_len)
    publish_brief_models(ModelRegistry(root), symbol, data, networks, max_batches=20)


def leader_candles(
    args: argparse.Namespace, windows: list[pl.DataFrame]
) -> dict[str, pl.DataFrame]:
    """Candles of the leaders the served predictors need beside ``--symbol``'s windows (the
    service reads them from its state: the bench stores them first), over the windows' span."""
    from models.predictors.registry import PREDICTORS

    names = args.predictors
    leaders = {
        e.leader
        for e in PREDICTORS
        if e.served and e.leader and e.leader != args.symbol and (not names or e.name in names)
    }
    first, last = windows[0]["timestamp"][0], windows[-1]["timestamp"][-1]
    out = {}
    for leader in sorted(leaders):
        frame = load_ohlcv(args.data / f"{leader}-1h.csv.gz")
        out[leader] = frame.filter(pl.col("timestamp").is_between(first, last))
    return out


def store_candles(url: str, stored: dict[str, pl.DataFrame], chunk: int = 5000) -> None:
    """``POST /v1/candles/{symbol}`` of each frame, in requests of at most ``chunk``."""
    import httpx

    from scripts.launch.local_app import key_header

    for symbol, frame in stored.items():
        for start in range(0, frame.height, chunk):
            rows = frame.slice(start, chunk).to_dicts()
            candles = [{**r, "timestamp": r["timestamp"].isoformat()} for r in rows]
            body = {"candles": candles}
            r = httpx.post(
                f"{url}/v1/candles/{symbol}", json=body, headers=key_header(), timeout=60
            )
            if r.status_code != 201:
                raise UsageError(f"storing {symbol} candles failed: {r.status_code} {r.text}")


def bench_in_process(registry: str, symbol: str, sets: list[list[pl.DataFrame]], batch: int,
                     workdir: Path, stored: dict[str, pl.DataFrame] | None = None,
                     predictors: Sequence[str] | None = None) -> list[Row]:  # fmt: skip
    """One request at a time (``sets[0]``), then batches of ``batch`` (``sets[1]``: other
    windows, so no feature is reused from the first run); each stores its pending records."""
    from models.serving.inprocess import InProcessEnsemble
    from models.store import StateStore

    windows, others = sets
    pipeline = InProcessEnsemble(registry, stored=stored, predictors=predictors)
    store = StateStore(workdir / "inprocess.db")
    pipeline.predict_many([(symbol, windows[0])])  # load models (that window is not timed)
    latencies = []
    started = time.perf_counter()
    for window in windows[1:]:
        t0 = time.perf_counter()
        store.add_predictions([pipeline.predict_many([(symbol, window)])[0].stored])
        latencies.append((time.perf_counter() - t0) * 1000)
    single = row("in-process", 1, latencies, time.perf_counter() - started)
    latencies, started = [], time.perf_counter()
    for i in range(0, len(others), batch):
        t0 = time.perf_counter()
        answers = pipeline.predict_many([(symbol, w) for w in others[i : i + batch]])
        store.add_predictions([a.stored for a in answers])
        latencies += [(time.perf_counter() - t0) * 1000] * len(answers)
    wall = time.perf_counter() - started
    batched = row(f"in-process, batches of {batch}", batch, latencies, wall)
    store.close()
    return [single, batched]


def bodies(symbol: str, windows: list[pl.DataFrame]) -> list[bytes]:
    out = []
    for w in windows:
        rows = w.select("timestamp", "open", "high", "low", "close", "volume").to_dicts()
        candles = [{**r, "timestamp": r["timestamp"].isoformat()} for r in rows]
        out.append(json.dumps({"symbol": symbol, "candles": candles}).encode())
    return out


async def load(url: str, payloads: list[bytes], concurrency: int, path: str = "proxy") -> Row:
    """Send every payload with ``concurrency`` requests in flight; all must succeed.

    aiohttp (which Ray Serve itself depends on) rather than httpx: on this machine it
    spends 0.16 ms of CPU per 256-candle request against httpx's 0.65 ms, and the client
    shares the two cores with the service it measures."""
    import aiohttp

    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for p in payloads:
        queue.put_nowait(p)
    latencies: list[float] = []
    server: list[float] = []
    timings: list[dict] = []
    members: list[dict] = []
    headers = {"content-type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as client:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                t0 = time.perf_counter()
                async with client.post("/v1/predict", data=body, headers=headers) as r:
                    text = await r.read()
                latencies.append((time.perf_counter() - t0) * 1000)
                if r.status != 200:
                    raise UsageError(f"request failed: {r.status} {text[:300]!r}")
                answer = json.loads(text)
                server.append(answer["latency_ms"])
                timings.append(answer["timings_ms"])
                members.append(answer["models"])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return row(f"serve ({path})", concurrency, latencies, wall, server, timings, members)


SERVE_SYSTEM_NAMES = {"ProxyActor": "Serve proxy", "ServeController": "Serve controller"}


def _process_group(pid: int, cmdline: str) -> str | None:
    """Which part of the service (or the client) a process is; None: not ours."""
    from scripts.launch.local_app import serve_process_label

    if pid == os.getpid():
        return "load client + driver"
    label = serve_process_label(cmdline, APP_NAME)
    if label is not None:
        return SERVE_SYSTEM_NAMES.get(label, label)
    if "ray" in cmdline:
        return "Ray system (raylet, GCS, agents)"
    return None


def cpu_seconds() -> dict[int, tuple[str, float]]:
    """User + system CPU seconds so far of every process of the service and this client."""
    import psutil

    out = {}
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            group = _process_group(proc.pid, " ".join(proc.info["cmdline"] or []))
            if group is not None:
                times = proc.cpu_times()
                out[proc.pid] = (group, times.user + times.system)
        except psutil.Error:  # exited or not ours to read
            continue
    return out


def cpu_per_request(before: dict, after: dict, requests: int) -> dict[str, float]:
    """CPU milliseconds per request of each process group between two snapshots."""
    spent: dict[str, float] = {}
    for pid, (group, seconds) in after.items():
        if pid in before:
            spent[group] = spent.get(group, 0.0) + (seconds - before[pid][1]) * 1000 / requests
    return spent


def cpu_table(cpu: dict[tuple[str, int], dict[str, float]], walls: dict) -> str:
    """Process group x load level, CPU ms per request; the last rows give the total and how
    much of the machine it kept busy."""
    levels = list(cpu)
    groups = sorted({g for spent in cpu.values() for g in spent},
                    key=lambda g: -max(spent.get(g, 0.0) for spent in cpu.values()))  # fmt: skip
    head = "| process | " + " | ".join(f"{p} c={c}" for p, c in levels) + " |"
    lines = [head, "|---|" + "---:|" * len(levels)]
    for g in groups:
        cells = " | ".join(f"{cpu[level].get(g, 0.0):.1f}" for level in levels)
        lines.append(f"| {g} | {cells} |")
    totals = [sum(cpu[level].values()) for level in levels]
    lines.append("| **total** | " + " | ".join(f"**{t:.1f}**" for t in totals) + " |")
    busy = [t * walls[lv][0] / 1000 / walls[lv][1] for t, lv in zip(totals, levels, strict=True)]
    lines.append("| cores busy | " + " | ".join(f"{b:.2f}" for b in busy) + " |")
    return "\n".join(lines)


def start_app(args: argparse.Namespace, registry: str, workdir: Path) -> dict[str, str]:
    """Local Ray + Serve with the app of ``--config``; returns path name -> base URL: the
    proxy's port and, in throughput-optimised mode, the ingress replica's own port."""
    from scripts.launch.direct_ingress import direct_ingress_urls
    from scripts.launch.local_app import start_local_app

    state_db = str(workdir / "s.db")
    extra = {"predictors": args.predictors} if args.predictors else {}
    proxy = start_local_app(args.config, APP_NAME, args.num_cpus, registry=registry,
                            state_db=state_db, **extra)  # fmt: skip
    urls = {"proxy": proxy}
    direct = direct_ingress_urls(APP_NAME, "127.0.0.1")
    if direct:
        urls["direct ingress"] = direct[0]
    return urls


def table(rows: Sequence[Row], base_single: Row, base_batched: Row) -> str:
    """Markdown table; the overhead column compares with the in-process row it matches
    (p50 ratio at concurrency 1, throughput ratio under concurrency)."""
    head = (
        "| mode | concurrency | p50 ms | p95 ms | p99 ms | req/s | server p50 ms | overhead |\n"
        "|---|---:|---:|---:|---:|---:|---:|---|"
    )
    lines = [head]
    for r in rows:
        if r.mode.startswith("in-process"):
            overhead = "-"
        elif r.concurrency == 1:
            extra = r.p50 - base_single.p50
            overhead = f"p50 x{r.p50 / base_single.p50:.2f} (+{extra:.1f} ms)"
        else:
            overhead = f"throughput x{base_batched.throughput / r.throughput:.2f} lower"
        server = f"{r.server_p50:.1f}" if r.server_p50 is not None else "-"
        lines.append(
            f"| {r.mode} | {r.concurrency} | {r.p50:.1f} | {r.p95:.1f} | {r.p99:.1f} | "
            f"{r.throughput:.1f} | {server} | {overhead} |"
        )
    return "\n".join(lines)


def stage_table(rows: Sequence[Row]) -> str:
    """Where a Serve request's time goes: HTTP + ingress (client latency minus the
    ensemble's stages) and the ensemble's stages, medians per level."""
    lines = [
        "| path | concurrency | client p50 | ingress + hops | features | predictors | combine | "
        "store | batch size |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r.stages is None:
            continue
        st = r.stages
        ensemble = sum(st[k] for k in ("features", "predictors", "combine", "store"))
        lines.append(
            f"| {r.mode} | {r.concurrency} | {r.p50:.1f} | {r.p50 - ensemble:.1f} | "
            f"{st['features']:.1f} | "
            f"{st['predictors']:.1f} | {st['combine']:.1f} | {st['store']:.1f} | "
            f"{st['batch_size']:.0f} |"
        )
    return "\n".join(lines)


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def targets(serve_rows: Sequence[Row], base_single: Row, base_batched: Row) -> list[str]:
    """The three targets of docs/serving.md, each with this run's numbers, per path."""
    out = []
    for mode in dict.fromkeys(r.mode for r in serve_rows):
        by_c = {r.concurrency: r for r in serve_rows if r.mode == mode}
        if 1 in by_c:
            p50, limit = by_c[1].p50, base_single.p50 + 15
            out.append(
                f"{mode}: c=1 p50 {p50:.1f} ms <= in-process + 15 = {limit:.1f} ms: "
                + _verdict(p50 <= limit)
            )
        if 32 in by_c:
            tput, half = by_c[32].throughput, base_batched.throughput / 2
            out.append(
                f"{mode}: c=32 throughput {tput:.1f} req/s >= half of in-process batched "
                f"({half:.1f}): " + _verdict(tput >= half)
            )
            p99 = by_c[32].p99
            out.append(f"{mode}: c=32 p99 {p99:.1f} ms < 300 ms: " + _verdict(p99 < 300))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    candles = load_ohlcv(args.data / f"{args.symbol}-1h.csv.gz")
    # every level its own windows: a repeated window would be answered from the lgbm
    # features' cache (models.features.feature_cache), which the first level would fill
    levels = 2 + 2 * len(args.concurrency)  # in-process twice, each path's levels
    every = request_windows(candles, args.requests * levels, args.candles)
    sets = [every[i * args.requests : (i + 1) * args.requests] for i in range(levels)]
    with tempfile.TemporaryDirectory(prefix="bench_serve_") as tmp:
        workdir = Path(tmp)
        registry = args.registry
        if registry is None:
            print(f"training {args.model_size} models into a temporary registry ...", flush=True)
            history = candles.head(candles.height - args.requests * levels)
            train_models(history, args.symbol, workdir, args.model_size)
            registry = str(workdir)
        stored = leader_candles(args, every)
        print("in-process baseline ...", flush=True)
        base_single, base_batched = bench_in_process(
            registry, args.symbol, sets[:2], args.batch, workdir, stored, args.predictors
        )
        print(f"starting the app on {args.num_cpus:g} CPUs ...", flush=True)
        urls = start_app(args, registry, workdir)
        store_candles(urls["proxy"], stored)
        payloads = [bodies(args.symbol, w) for w in sets]
        rows = [base_single, base_batched]
        cpu: dict[tuple[str, int], dict[str, float]] = {}
        walls: dict[tuple[str, int], tuple[int, float]] = {}
        level = 2
        for path, url in urls.items():
            asyncio.run(load(url, payloads[0][: max(20, args.requests // 5)], 8))  # warm-up
            for c in args.concurrency:
                print(f"{path}: concurrency {c} ...", flush=True)
                mine, level = payloads[level], level + 1
                before, started = cpu_seconds(), time.perf_counter()
                rows.append(asyncio.run(load(url, mine, c, path)))
                walls[(path, c)] = (len(mine), time.perf_counter() - started)
                cpu[(path, c)] = cpu_per_request(before, cpu_seconds(), len(mine))
        mode = os.environ.get("RAY_SERVE_THROUGHPUT_OPTIMIZED")
        print(f"\n{args.requests} requests of {args.candles} candles per level, "
              f"RAY_SERVE_THROUGHPUT_OPTIMIZED={mode}, Ray CPUs {args.num_cpus:g}\n")  # fmt: skip
        served = ", ".join(args.predictors) if args.predictors else "every served predictor"
        print(f"predictors: {served}; stored beside the requests: {sorted(stored) or 'none'}\n")
        print(table(rows, base_single, base_batched))
        print("\nmedian milliseconds per stage (Serve):\n")
        print(stage_table(rows))
        print("\nanswers whose member was not ok (status and count; '-': all ok):\n")
        print(status_table(rows))
        print("\nCPU milliseconds per request by process (what the two cores were spent on):\n")
        print(cpu_table(cpu, walls))
        print()
        for line in targets(rows[2:], base_single, base_batched):
            print(line)
        from ray import serve

        serve.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
