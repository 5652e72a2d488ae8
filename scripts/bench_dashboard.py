"""Time to first render of the dashboard and the bytes it downloads, in headless Chromium.

Starts the whole app on a local Ray (no trained neural models: the rule-based predictors
answer), stores ``--candles`` real candles of ``--symbol`` of which the last
``--predictions`` are sent one by one through ``POST /enhanced/predict`` (each appends its
bar, is predicted and stored, and resolves what became due), then opens ``GET /ui`` at
1280x800 in the OS Chromium ``--runs`` times with a fresh profile (cold cache) and prints,
per run and as the median: first render (the page's ``first-render`` performance mark,
milliseconds after navigation start, set once every chart and table is drawn), when
``plotly.min.js`` had arrived, DOM content loaded (the bundle parsed and run), the bytes
transferred (compressed) and decoded over the page and everything it fetched, and the
machine's 1-minute load average (the timings depend on what else runs).

    python scripts/bench_dashboard.py
    python scripts/bench_dashboard.py --screenshot docs/dashboard.png
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import httpx  # noqa: E402
import polars as pl  # noqa: E402

from models.cli import UsageError, run_cli  # noqa: E402
from models.data.loader import load_ohlcv  # noqa: E402
from models.data.paths import default_data_dir  # noqa: E402
from scripts.launch.local_app import key_header, start_local_app  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MEASURE = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const all = [nav, ...performance.getEntriesByType("resource")];
  return {
    first_render_ms: performance.getEntriesByName("first-render")[0].startTime,
    plotly_loaded_ms: all.find((e) => e.name.endsWith("plotly.min.js")).responseEnd,
    dom_content_loaded_ms: nav.domContentLoadedEventEnd,
    requests: all.length,
    transferred_bytes: all.reduce((n, e) => n + e.transferSize, 0),
    decoded_bytes: all.reduce((n, e) => n + e.decodedBodySize, 0),
  };
}"""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--symbol", default="BTCUSDT")
    p.add_argument("--candles", type=int, default=2000, help="candles stored (and drawn)")
    p.add_argument("--predictions", type=int, default=500, help="of them, predicted one by one")
    p.add_argument("--runs", type=int, default=3, help="cold page loads to time")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--screenshot", type=Path, default=None, help="write a PNG of the page")
    p.add_argument("--data", type=Path, default=default_data_dir())
    args = p.parse_args(argv)
    if args.predictions < 1 or args.candles - args.predictions < 230:
        raise UsageError("--candles must exceed --predictions by at least 230 (the warm-up)")
    return args


def fill(url: str, candles: pl.DataFrame, predictions: int, symbol: str) -> None:
    """Store the history, then predict the last ``predictions`` bars one at a time."""
    rows = candles.select("timestamp", "open", "high", "low", "close", "volume").to_dicts()
    for r in rows:
        r["timestamp"] = r["timestamp"].isoformat()
    head = len(rows) - predictions
    with httpx.Client(base_url=url, timeout=120.0, headers=key_header()) as client:
        r = client.post(f"/v1/candles/{symbol}", json={"candles": rows[:head]})
        r.raise_for_status()
        started = time.perf_counter()
        for i, bar in enumerate(rows[head:], 1):
            r = client.post("/enhanced/predict", json={"symbol": symbol, "features": bar})
            r.raise_for_status()
            if i % 100 == 0:
                print(f"  {i} predictions ({time.perf_counter() - started:.0f} s)", flush=True)


def measure(url: str, symbol: str, chromium: str, screenshot: Path | None) -> dict[str, Any]:
    """One cold load of the page (fresh profile) at 1280x800."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, tempfile.TemporaryDirectory() as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 800},
        )  # fmt: skip
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.goto(f"{url}/ui?symbol={symbol}&poll=60000")
        page.wait_for_function("performance.getEntriesByName('first-render').length > 0",
                               timeout=120_000)  # fmt: skip
        result = page.evaluate(MEASURE)
        result["markers"] = int(page.evaluate("document.body.dataset.markers"))
        result["console_errors"] = len(errors)
        result["load_average_1m"] = os.getloadavg()[0]
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
        context.close()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not Path(args.chromium).exists():
        raise UsageError(f"--chromium: {args.chromium} not found (apt-get install chromium)")
    candles = load_ohlcv(args.data / f"{args.symbol}-1h.csv.gz").tail(args.candles)
    with tempfile.TemporaryDirectory(prefix="bench_dashboard_") as tmp:
        print("starting the app ...", flush=True)
        url = start_local_app(
            None, "bench-dashboard", 4, registry=tmp, state_db=str(Path(tmp) / "state.db")
        )
        print(f"storing {args.candles} candles, {args.predictions} predictions ...", flush=True)
        fill(url, candles, args.predictions, args.symbol)
        runs = []
        for i in range(args.runs):
            shot = args.screenshot if i == args.runs - 1 else None
            runs.append(measure(url, args.symbol, args.chromium, shot))
            print(f"run {i + 1}: {runs[-1]}", flush=True)
        from ray import serve

        serve.shutdown()
    keys = (
        "first_render_ms",
        "plotly_loaded_ms",
        "dom_content_loaded_ms",
        "transferred_bytes",
        "decoded_bytes",
        "load_average_1m",
    )
    print(f"\n{args.candles} candles, {args.predictions} predictions, {args.runs} cold loads:")
    for key in keys:
        print(f"  median {key}: {statistics.median(r[key] for r in runs):,.1f}")
    print(f"  markers drawn: {runs[-1]['markers']}, requests: {runs[-1]['requests']}, "
          f"console errors: {sum(r['console_errors'] for r in runs)}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
