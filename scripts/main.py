"""The main job: real data -> small trained models -> the running service -> one live signal.

    python scripts/main.py                       # data from ../shared/data or downloaded
    python scripts/main.py --data DIR            # your own <SYMBOL>-1h.csv[.gz] files
    python scripts/main.py --once                # stop after showing the signal

Each step is one of the project's own command-line tools, run as a child process, so what
this prints is exactly what a user would see running them by hand:
``download_data.py`` (only when no local data is found), ``train.py`` (only for symbols the
registry has no model for; it also fits the ensemble's combiner on the models' held-out bars
and publishes it), ``fit_combiner.py`` (only when models exist without a combiner), then
``serve.py`` in the background while this process loads candles into the service (a keyed
write) and asks it for the signal of the newest stored bar: a service that has learned
nothing yet answers with the combiner published beside the models.

Writes need the key in ``$SMARTMARKET_API_KEY``: when it is unset, a random key is made for
this run, printed, and given to the service.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from models.cli import UsageError, run_cli  # noqa: E402
from models.data.loader import load_market_data  # noqa: E402
from models.data.paths import default_data_dir  # noqa: E402
from models.errors import ModelNotFoundError  # noqa: E402
from models.predictors.registry import PREDICTORS  # noqa: E402
from models.registry import ModelRegistry  # noqa: E402
from scripts.launch.local_app import wait_healthy  # noqa: E402

ROOT = REPO_ROOT
SCRIPTS = ROOT / "scripts"
TRAINED_MODELS = tuple(e.name for e in PREDICTORS if e.trained and e.default_member and e.served)
"""The ensemble's default members that need a trained model per symbol."""
STORED_CANDLES = 1_000
"""Newest candles of each shown symbol stored in the service: more than the longest window
any member needs (lgbm's 720 bars), so every member can answer."""
KEY_ENV = "SMARTMARKET_API_KEY"
COMBINER = "combiner"
"""The registry's model name of the combiner published after training."""
NO_DATA_HELP = (
    "no market data: there is no local data and the download from Binance's public data "
    "archive failed (see above). Either connect this machine to the internet and run "
    "`python scripts/main.py` again, or point it at local candles with "
    "`python scripts/main.py --data DIR` (DIR holding <SYMBOL>-1h.csv, .csv.gz or .parquet "
    "files with timestamp,open,high,low,close,volume)."
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="directory or file of candles")
    parser.add_argument("--symbols", nargs="+", default=["BTCUSDT", "ETHUSDT"])
    parser.add_argument("--registry", default=str(ROOT / "registry"))
    parser.add_argument("--storage", default=str(ROOT / "ray_results"), help="Tune storage")
    parser.add_argument("--state-db", default=str(ROOT / "state" / "smartmarket.db"))
    parser.add_argument("--download-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--months", type=int, default=12, help="months to download")
    parser.add_argument("--base-url", default=None, help="archive server for the download")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--max-epochs", type=int, default=3)
    parser.add_argument("--train-rows", type=int, default=6000, help="recent bars to train on")
    parser.add_argument("--batches-per-epoch", type=int, default=60, help="training steps cap")
    parser.add_argument("--retrain", action="store_true", help="train even if models exist")
    parser.add_argument("--once", action="store_true", help="stop after showing the signal")
    parser.add_argument("--startup-timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    if min(args.months, args.max_epochs, args.batches_per_epoch) < 1 or args.train_rows < 1000:
        raise UsageError(
            "--months, --max-epochs and --batches-per-epoch must be >= 1, --train-rows >= 1000"
        )
    if not args.startup_timeout > 0:
        raise UsageError(f"--startup-timeout must be > 0 seconds, got {args.startup_timeout}")
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be in 1..65535, got {args.port}")
    return args


def step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def run_tool(script: str, *options: str) -> int:
    """Run one of the project's scripts with this interpreter; its output goes to ours."""
    command = [sys.executable, str(SCRIPTS / script), *options]
    print("$ " + " ".join(command[1:]), flush=True)
    return subprocess.call(command, cwd=ROOT)


def find_data(args: argparse.Namespace) -> Path:
    """The data path to use: --data, else the shared data, else a fresh download."""
    if args.data is not None:
        if not args.data.exists():
            raise UsageError(f"--data: {args.data} does not exist")
        return args.data
    shared = default_data_dir()
    if shared.exists() and any(shared.glob("*USDT-1h.*")):
        print(f"using local candles in {shared}")
        return shared
    if args.download_dir.exists() and all(
        any(args.download_dir.glob(f"{s}-1h.*")) for s in args.symbols
    ):
        print(f"using previously downloaded candles in {args.download_dir}")
        return args.download_dir
    end = datetime.now(timezone.utc).date() - timedelta(days=1)
    start = end - timedelta(days=30 * args.months)
    options = [
        "--symbols", *args.symbols, "--interval", "1h", "--start", start.isoformat(),
        "--end", end.isoformat(), "--out", str(args.download_dir), "--retries", "2",
    ]  # fmt: skip
    if args.base_url:
        options += ["--base-url", args.base_url]
    code = run_tool("download_data.py", *options)
    if code != 0:
        raise UsageError(NO_DATA_HELP)
    return args.download_dir


def missing_models(
    registry: str, symbols: Sequence[str], models: Sequence[str] = TRAINED_MODELS
) -> list[str]:
    """Symbols lacking a published version of one of ``models``."""
    reg = ModelRegistry(registry)
    missing = []
    for symbol in symbols:
        try:
            for model in models:
                reg.latest(symbol, model)
        except ModelNotFoundError:
            missing.append(symbol)
    return missing


def fit_combiner(args: argparse.Namespace, data: Path, symbols: Sequence[str]) -> None:
    code = run_tool(
        "fit_combiner.py", "--data", str(data), "--registry", args.registry,
        "--symbols", *symbols, "--jobs", "1",
    )  # fmt: skip
    if code != 0:
        raise UsageError(f"fitting the combiner failed (exit {code}); see its output above")


def train(args: argparse.Namespace, data: Path, symbols: Sequence[str]) -> None:
    code = run_tool(
        "train.py", "--data", str(data), "--symbols", *symbols,
        "--models", *TRAINED_MODELS, "--num-samples", "1", "--max-epochs", str(args.max_epochs),
        "--small", "--max-rows", str(args.train_rows), "--cpus-per-trial", "1",
        "--max-batches-per-epoch", str(args.batches_per_epoch),
        "--storage", args.storage, "--name", f"main-{int(time.time())}",
        "--registry", args.registry,
    )  # fmt: skip
    if code != 0:
        raise UsageError(f"training failed (exit {code}); see its output above")


def api_key() -> str:
    """The key writes need: ``$SMARTMARKET_API_KEY``, or one made (and printed) for this run."""
    key = os.environ.get(KEY_ENV, "")
    if not key:
        key = "smk-" + secrets.token_urlsafe(24)
        print(f"{KEY_ENV} was not set; this run's API key (needed for writes): {key}")
    return key


def store_candles(url: str, key: str, data: Path, symbols: Sequence[str]) -> None:
    """Store the newest real candles of ``symbols`` after what the service already holds
    (a keyed write; a rerun on the same state stores only what is new)."""
    frames = load_market_data(data, symbols=list(symbols))
    auth = {"Authorization": f"Bearer {key}"}
    for symbol in symbols:
        candles = frames[symbol].tail(STORED_CANDLES)
        held = httpx.get(f"{url}/v1/candles/{symbol}", params={"limit": 1}, timeout=60)
        if held.status_code == 200 and held.json()["candles"]:
            newest = datetime.fromisoformat(held.json()["candles"][-1]["timestamp"])
            candles = candles.filter(candles["timestamp"] > newest)
        if candles.height == 0:
            continue
        rows = [
            {**row, "timestamp": row["timestamp"].isoformat()}
            for row in candles.select(
                "timestamp", "open", "high", "low", "close", "volume"
            ).to_dicts()
        ]
        r = httpx.post(
            f"{url}/v1/candles/{symbol}", json={"candles": rows}, headers=auth, timeout=120
        )
        if r.status_code != 201:
            raise UsageError(f"storing {symbol} candles failed: {r.status_code} {r.text}")


def show_signal(url: str, symbol: str) -> None:
    """Print the service's signal for the newest stored bar of ``symbol``."""
    response = httpx.post(f"{url}/v1/predict", json={"symbol": symbol}, timeout=120)
    response.raise_for_status()
    answer = response.json()
    print(json.dumps(answer, indent=2))
    regime = answer["regime"]
    probs = answer["probabilities"]
    models = ", ".join(f"{name}={m['status']}" for name, m in answer["models"].items())
    print(
        f"\n{symbol} as of {answer['as_of']}: {answer['signal']} "
        f"(down {probs['down']:.2f} / flat {probs['flat']:.2f} / up {probs['up']:.2f}, "
        f"confidence {answer['confidence']:.2f}, quality {answer['quality']}, "
        f"actionable {answer['actionable']}) in a {regime['name']} regime; "
        f"models: {models}"
    )
    perf = httpx.get(f"{url}/v1/performance/{symbol}", timeout=60).json()
    combiner = perf.get("combiner") or {}
    fitted = combiner.get("fitted") or {}
    weights = ", ".join(f"{n} {w:+.2f}" for n, w in (combiner.get("weights") or {}).items())
    source = (
        f"the combiner published with the models ({fitted.get('version')}, fitted on "
        f"{fitted.get('bars')} held-out bars)"
        if fitted
        else "its prior (no combiner published for this symbol)"
    )
    print(f"combined with {source}; member weights in the score: {weights}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    step("1/4 market data")
    data = find_data(args)
    step("2/4 models")
    todo = args.symbols if args.retrain else missing_models(args.registry, args.symbols)
    if todo:
        train(args, data, todo)  # fits and publishes the combiner too
    else:
        print(f"registry {args.registry} already has models for {', '.join(args.symbols)}")
    unfitted = missing_models(args.registry, args.symbols, (COMBINER,))
    if unfitted:
        fit_combiner(args, data, unfitted)
    step("3/4 starting the service")
    Path(args.state_db).parent.mkdir(parents=True, exist_ok=True)
    key = api_key()
    server = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "serve.py"), "--registry", args.registry,
         "--port", str(args.port), "--state-db", args.state_db],
        cwd=ROOT, start_new_session=True, env={**os.environ, KEY_ENV: key},
    )  # fmt: skip
    url = f"http://127.0.0.1:{args.port}"
    try:
        wait_healthy(url, args.startup_timeout, server=server, interval_s=2.0)
        step(f"4/4 one live signal from {url}")
        leaders = [e.leader for e in PREDICTORS if e.leader and e.leader in args.symbols]
        store_candles(url, key, data, list(dict.fromkeys([*leaders, args.symbols[0]])))
        show_signal(url, args.symbols[0])
        if args.once:
            return 0
        print(f"\nserving on {url} (API docs: {url}/docs); Ctrl-C to stop", flush=True)
        return server.wait()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(run_cli(main))
