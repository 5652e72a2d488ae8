"""A loopback stand-in for data.binance.vision, serving archives built from real candles.

The archives follow Binance's real layout: one zip per month and per day holding a
12-column CSV without a header (open time in ms, or µs for days from ``micros_from``),
and a ``.zip.CHECKSUM`` beside each with ``<sha256>  <filename>``. The server records
every request and can be told to fail some of them, so tests never touch the internet.
"""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from collections import Counter
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl

MARKET_PATHS = {"spot": "data/spot", "futures": "data/futures/um"}


def kline_csv(candles: pl.DataFrame, interval_ms: int, micros: bool = False) -> bytes:
    """Binance's 12 kline columns, no header (the layout of their public dumps)."""
    scale = 1 if micros else 1_000
    open_time = pl.col("timestamp").dt.epoch("us") // scale
    table = candles.select(
        open_time,
        pl.col("open").map_elements(lambda v: f"{v:.8f}", return_dtype=pl.String),
        pl.col("high").map_elements(lambda v: f"{v:.8f}", return_dtype=pl.String),
        pl.col("low").map_elements(lambda v: f"{v:.8f}", return_dtype=pl.String),
        pl.col("close").map_elements(lambda v: f"{v:.8f}", return_dtype=pl.String),
        pl.col("volume").map_elements(lambda v: f"{v:.8f}", return_dtype=pl.String),
        (open_time + interval_ms * 1_000 // scale - 1).alias("close_time"),
        (pl.col("volume") * pl.col("close")).round(8).alias("quote_volume"),
        pl.lit(1000).alias("count"),
        (pl.col("volume") / 2).round(8).alias("taker_buy_volume"),
        (pl.col("volume") * pl.col("close") / 2).round(8).alias("taker_buy_quote"),
        pl.lit(0).alias("ignore"),
    )
    return table.write_csv(include_header=False).encode()


def _zip(name: str, payload: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, payload)
    return buffer.getvalue()


def build_archives(
    candles: pl.DataFrame,
    symbol: str,
    interval: str = "1h",
    market: str = "spot",
    micros_from: date | None = None,
) -> dict[str, bytes]:
    """URL path -> bytes for every monthly and daily archive (and CHECKSUM) of ``candles``."""
    files: dict[str, bytes] = {}
    interval_ms = 3_600_000 if interval == "1h" else 86_400_000
    keyed = candles.with_columns(
        pl.col("timestamp").dt.strftime("%Y-%m").alias("month"),
        pl.col("timestamp").dt.strftime("%Y-%m-%d").alias("day"),
    )
    for kind, key in (("monthly", "month"), ("daily", "day")):
        for (period,), part in keyed.group_by(key, maintain_order=True):
            first_day = date.fromisoformat(period if kind == "daily" else f"{period}-01")
            micros = micros_from is not None and first_day >= micros_from
            name = f"{symbol}-{interval}-{period}"
            data = _zip(f"{name}.csv", kline_csv(part.drop("month", "day"), interval_ms, micros))
            path = f"/{MARKET_PATHS[market]}/{kind}/klines/{symbol}/{interval}/{name}.zip"
            files[path] = data
            digest = hashlib.sha256(data).hexdigest()
            files[path + ".CHECKSUM"] = f"{digest}  {name}.zip\n".encode()
    return files


class ArchiveServer:
    """Threaded HTTP server on 127.0.0.1 (ephemeral port) serving ``files``.

    ``requests`` counts GETs by path; ``fail[path] = (status, times)`` answers that path
    with ``status`` for its next ``times`` requests (e.g. 503 to exercise retries).
    """

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: Counter[str] = Counter()
        self.fail: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def _answer(self, path: str) -> tuple[int, bytes]:
        with self._lock:
            self.requests[path] += 1
            status, times = self.fail.get(path, (200, 0))
            if times > 0:
                self.fail[path] = (status, times - 1)
                return status, b"injected failure"
        if path not in self.files:
            return 404, b"<Error><Code>NoSuchKey</Code></Error>"
        return 200, self.files[path]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = server._answer(self.path)
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

        return Handler

    def archive_requests(self) -> list[str]:
        """Requested zip paths (not CHECKSUMs), sorted."""
        return sorted(p for p in self.requests if p.endswith(".zip"))

    def __enter__(self) -> ArchiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
