"""The multi-symbol bar: N followed symbols on one bar clock, from the bar's close to all N
signals stored, in-process and served.

The live service's main path is the feed: at every bar close each followed symbol's bar is
stored and its signal computed and stored. This bench replays that for ``--bars`` real
hourly bars of the 10 symbols of the shared data (``--copies K`` adds K copies of each,
offset in time by a week per copy and re-stamped onto the same clock: 10 * (K + 1)
symbols with different candles, e.g. ``--copies 9`` for 100). Every followed symbol serves
the models that ``--model-symbol`` has in ``--registry`` (a scratch registry of directory
links is made: the compute per symbol is that of a real per-symbol model).

- in-process: per bar, one batch of N requests (720-bar windows, the leader's candles as
  the state would give them) through :class:`~models.serving.inprocess.InProcessEnsemble`,
  then one SQLite write of the N pending predictions;
- served: the app on a local Ray (``--num-cpus``), the symbols' history stored first; per bar
  what the feed's sink does for each symbol (``append_bar`` to the state, which returns the
  window, then ``EnsembleDeployment.predict`` storing the signal), all symbols concurrently,
  every append before any signal (the leader's bar is stored when the others need it).

Prints per mode: p50 / p99 / max of bar close -> all N signals stored, CPU per symbol-bar
(every process of this bench, the Ray workers included), and where a signal's time goes
(the ensemble's stages and each member's call, medians). The first bar (models loading,
caches empty) is left out of the statistics.

    PYTHONPATH=$PWD python scripts/bench_bar.py --registry REG [--copies 0] [--bars 8] \\
        [--modes inprocess served] [--model-symbol ETHUSDT]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from models.benchmark import require_positive  # noqa: E402
from models.cli import UsageError, run_cli  # noqa: E402
from models.data.loader import load_market_data  # noqa: E402
from models.data.paths import default_data_dir  # noqa: E402

APP_NAME = "bench-bar"
WINDOW = 720
WEEK = 168
LEADER = "BTCUSDT"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--registry", required=True, help="registry with --model-symbol's models")
    p.add_argument("--model-symbol", default="ETHUSDT", help="whose models every symbol serves")
    p.add_argument("--data", type=Path, default=None, help="candle directory")
    p.add_argument("--copies", type=int, default=0, help="offset copies of each symbol")
    p.add_argument("--bars", type=int, default=8, help="bars replayed (the first is warm-up)")
    p.add_argument("--start-row", type=int, default=20_000, help="row of the first bar")
    p.add_argument("--modes", nargs="+", default=["inprocess", "served"],
                   choices=["inprocess", "served"])  # fmt: skip
    p.add_argument("--num-cpus", type=float, default=2.0)
    p.add_argument("--config", type=Path, default=REPO_ROOT / "configs" / "serve_local.yaml")
    args = p.parse_args(argv)
    require_positive(args, "bars", "start_row")
    if args.copies < 0:
        raise UsageError(f"--copies must be >= 0, got {args.copies}")
    if args.bars < 2:
        raise UsageError("--bars must be >= 2 (the first bar is warm-up)")
    return args


def copy_name(symbol: str, k: int) -> str:
    """``ETHUSDT`` -> ``ETH3USDT`` for copy 3 (a valid symbol; 0 is the symbol itself)."""
    return symbol if k == 0 else f"{symbol[:-4]}{k}{symbol[-4:]}"


def followed_frames(args: argparse.Namespace) -> dict[str, pl.DataFrame]:
    """Each followed symbol's candles up to the last replayed bar, all on one clock."""
    frames = load_market_data(args.data or default_data_dir())
    clock = frames[LEADER]["timestamp"]
    last = args.start_row + args.bars
    if args.start_row - WINDOW - args.copies * WEEK < 0 or last > clock.len():
        raise UsageError("--start-row: too close to the data's ends for these --copies/--bars")
    stamps = clock.slice(0, last)
    out = {}
    for symbol, frame in sorted(frames.items()):
        on_clock = pl.DataFrame({"timestamp": stamps}).join(frame, on="timestamp", how="left")
        on_clock = on_clock.fill_null(strategy="forward").fill_null(strategy="backward")
        for k in range(args.copies + 1):
            shifted = on_clock.select(pl.exclude("timestamp").shift(k * WEEK))
            copy = pl.concat([on_clock.select("timestamp"), shifted], how="horizontal")
            out[copy_name(symbol, k)] = copy.slice(k * WEEK)
    return out


def scratch_registry(source: Path, model_symbol: str, symbols: Sequence[str], root: Path) -> None:
    """Every symbol's model directories as links to ``model_symbol``'s."""
    models = [d for d in (source / model_symbol).iterdir() if d.is_dir()]
    if not models:
        raise UsageError(f"--registry: no models of {model_symbol} in {source}")
    for symbol in symbols:
        (root / symbol).mkdir(parents=True)
        for model in models:
            (root / symbol / model.name).symlink_to(model.resolve(), target_is_directory=True)


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _cpu_seconds() -> float:
    """CPU seconds so far of this process and every process it started (Ray's included)."""
    import psutil

    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.Error:
            continue
    return total


def bench_in_process(
    args: argparse.Namespace, frames: dict[str, pl.DataFrame], registry: str, workdir: Path
) -> dict[str, Any]:
    from models.serving.inprocess import InProcessEnsemble
    from models.store import StateStore

    pipeline = InProcessEnsemble(registry, stored={LEADER: frames[LEADER]})
    store = StateStore(workdir / "inprocess.db")
    walls, stages = [], []
    cpu = 0.0
    for bar in range(args.bars):
        end = args.start_row + bar + 1
        requests = [(s, f.slice(max(0, f.height - (frames[LEADER].height - end)) - WINDOW, WINDOW))
                    for s, f in frames.items()]  # fmt: skip
        cpu0, t0 = time.process_time(), time.perf_counter()
        answers = pipeline.predict_many(requests)
        store.add_predictions([a.stored for a in answers])
        wall = time.perf_counter() - t0
        if bar:
            walls.append(wall * 1000)
            cpu += time.process_time() - cpu0
            stages.append(dict(pipeline.last_call_ms))
    store.close()
    n = len(frames) * (args.bars - 1)
    return {"walls": walls, "cpu_ms": cpu * 1000 / n, "calls": _merge_calls(stages)}


def _merge_calls(stages: list[dict[str, float]]) -> dict[str, float]:
    """Median ms per member call kind (a trained member's calls summed over symbols)."""
    per_bar: list[dict[str, float]] = []
    for laps in stages:
        merged: dict[str, float] = {}
        for key, ms in laps.items():
            member = key.split(":")[1]
            merged[member] = merged.get(member, 0.0) + ms
        per_bar.append(merged)
    keys = sorted({k for d in per_bar for k in d})
    return {k: statistics.median(d.get(k, 0.0) for d in per_bar) for k in keys}


async def _served_bars(
    args: argparse.Namespace, frames: dict[str, pl.DataFrame], state: Any, ensemble: Any, fetch: int
) -> tuple[list[float], list[dict], float]:
    """Store the history, then per bar what the feed's sink does for every symbol: ms from
    the bar to all N signals stored, their timings and the CPU seconds (warm-up bar out)."""
    last = frames[LEADER].height
    for symbol, frame in frames.items():  # the history before the first bar
        cut = frame.height - (last - args.start_row)
        _checked(await state.append_candles.remote(symbol, frame.slice(cut - WINDOW, WINDOW)))
    walls, timings, cpu = [], [], 0.0
    for bar in range(args.bars):
        rows = {}
        for symbol, frame in frames.items():
            rows[symbol] = frame.row(frame.height - (last - (args.start_row + bar)), named=True)
        cpu0, t0 = _cpu_seconds(), time.perf_counter()
        appended = await asyncio.gather(
            *(state.append_bar.remote(s, row, fetch) for s, row in rows.items())
        )
        calls = []
        for symbol, result in zip(rows, appended, strict=True):
            window, done = _checked(result)
            version = int(done["learned_version"])
            calls.append(ensemble.predict.remote(symbol, window, True, version))
        bodies = [_checked(b) for b in await asyncio.gather(*calls)]
        if bar:
            walls.append((time.perf_counter() - t0) * 1000)
            cpu += _cpu_seconds() - cpu0
            timings += [b["timings_ms"] for b in bodies]
    return walls, timings, cpu


def _checked(result: Any) -> Any:
    if isinstance(result, BaseException):
        raise result
    return result


def bench_served(
    args: argparse.Namespace, frames: dict[str, pl.DataFrame], registry: str, workdir: Path
) -> dict[str, Any]:
    from ray import serve

    from deployments.settings import AppSettings
    from scripts.launch.local_app import start_local_app

    # every followed symbol's models stay loaded (the default LRU of 8 would reload them)
    start_local_app(args.config, APP_NAME, args.num_cpus, registry=registry,
                    state_db=str(workdir / "served.db"),
                    max_models_per_replica=max(8, len(frames)))  # fmt: skip
    fetch = AppSettings.parse(registry=registry).fetch_bars()
    state = serve.get_deployment_handle("StateDeployment", app_name=APP_NAME)
    ensemble = serve.get_deployment_handle("EnsembleDeployment", app_name=APP_NAME)
    walls, timings, cpu = asyncio.run(_served_bars(args, frames, state, ensemble, fetch))
    # no serve.shutdown(): its handles belong to the closed loop; ray.shutdown() ends all
    n = len(frames) * (args.bars - 1)
    keys = sorted({k for t in timings for k in t if k != "batch_size"})
    stages = {k: statistics.median(t.get(k, 0.0) for t in timings) for k in keys}
    stages["batch_size"] = statistics.median(t["batch_size"] for t in timings)
    return {"walls": walls, "cpu_ms": cpu * 1000 / n, "calls": stages}


def report(args: argparse.Namespace, n: int, results: dict[str, dict[str, Any]]) -> None:
    print(f"\n{n} symbols, {args.bars - 1} bars timed (after one warm-up bar), models of "
          f"{args.model_symbol} from {args.registry}")  # fmt: skip
    print("| mode | bar close -> all stored p50 ms | p99 ms | max ms | CPU ms per symbol-bar |")
    print("|---|---:|---:|---:|---:|")
    for mode, r in results.items():
        w = r["walls"]
        print(f"| {mode} | {_pct(w, 50):.0f} | {_pct(w, 99):.0f} | {max(w):.0f} | "
              f"{r['cpu_ms']:.1f} |")  # fmt: skip
    for mode, r in results.items():
        print(f"\nwhere the time goes, {mode} (median ms per bar; served: per signal):")
        for key, ms in r["calls"].items():
            print(f"  {key:<28} {ms:>9.1f}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("POLARS_MAX_THREADS", "1")
    os.environ.setdefault("RAY_SERVE_THROUGHPUT_OPTIMIZED", "1")
    frames = followed_frames(args)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        registry = workdir / "registry"
        scratch_registry(Path(args.registry), args.model_symbol, list(frames), registry)
        if "inprocess" in args.modes:
            results["in-process"] = bench_in_process(args, frames, str(registry), workdir)
        if "served" in args.modes:
            import ray

            try:
                results["served"] = bench_served(args, frames, str(registry), workdir)
            finally:
                ray.shutdown()
    report(args, len(frames), results)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
