"""A loopback stand-in for Binance's REST klines API, replaying real candles.

``GET /api/v3/time`` and ``GET /api/v3/klines`` (``symbol``, ``interval``, ``startTime``,
``limit`` <= 1000) answer in Binance's shape from real candles, on a virtual clock: the
bars whose close is before the clock are served closed, the one the clock is inside is
served still forming (with a different close, so storing it would show). The clock is
moved by hand (``advance``) or runs ``speed`` times faster than the wall clock (one
hourly bar every 0.2 s is ``speed=18000``). Faults queued with ``inject`` hit the next
klines requests: ``drop`` (connection closed without an answer), ``stall`` (answer after
``seconds``), ``status`` (``code``, optional ``retry_after``), ``malformed`` (row ``row`` of
the page unreadable), ``out_of_order`` (row ``row`` repeats the one before). Every request
is recorded. Only ever binds 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import polars as pl

MAX_LIMIT = 1000


@dataclass
class Fault:
    kind: str
    code: int = 500
    retry_after: float | None = None
    seconds: float = 0.0
    row: int = 0


@dataclass
class Request:
    path: str
    params: dict[str, str]
    at: float = field(default_factory=time.monotonic)


def kline_rows(frame: pl.DataFrame, interval_ms: int) -> list[list[Any]]:
    """Binance's 12-field kline rows (prices as decimal strings that parse back exactly)."""
    out = []
    for r in frame.iter_rows(named=True):
        open_ms = int(r["timestamp"].timestamp() * 1000)
        prices = [repr(float(r[k])) for k in ("open", "high", "low", "close", "volume")]
        out.append([open_ms, *prices, open_ms + interval_ms - 1, "0", 0, "0", "0", "0"])
    return out


class FakeExchange:
    """The server, its virtual clock and its fault queue (thread-safe)."""

    def __init__(self, candles: dict[str, pl.DataFrame], interval_ms: int, start_ms: int) -> None:
        self.interval_ms = interval_ms
        self.rows = {s: kline_rows(f, interval_ms) for s, f in candles.items()}
        self.faults: deque[Fault] = deque()
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._base_ms, self._wall0, self.speed = float(start_ms), time.monotonic(), 0.0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> FakeExchange:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # clock -------------------------------------------------------------------------------
    def now_ms(self) -> int:
        with self._lock:
            return int(self._base_ms + (time.monotonic() - self._wall0) * 1000 * self.speed)

    def set_speed(self, speed: float) -> None:
        with self._lock:
            now = time.monotonic()
            self._base_ms += (now - self._wall0) * 1000 * self.speed
            self._wall0, self.speed = now, speed

    def advance(self, bars: float) -> None:
        with self._lock:
            self._base_ms += bars * self.interval_ms

    def close_wall_time(self, open_ms: int) -> float:
        """``time.monotonic()`` at which the bar opening at ``open_ms`` closes here."""
        with self._lock:
            close = open_ms + self.interval_ms
            return self._wall0 + (close - self._base_ms) / 1000 / self.speed

    def closed(self, symbol: str) -> list[list[Any]]:
        now = self.now_ms()
        return [r for r in self.rows[symbol] if r[6] < now]

    # faults ------------------------------------------------------------------------------
    def inject(self, kind: str, count: int = 1, **kwargs: Any) -> None:
        for _ in range(count):
            self.faults.append(Fault(kind, **kwargs))

    def remove(self, symbol: str, start_ms: int, end_ms: int) -> None:
        """The exchange's own outage: bars opening in [start, end) never existed."""
        self.rows[symbol] = [r for r in self.rows[symbol] if not start_ms <= r[0] < end_ms]

    def klines_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/klines")]

    # answers -----------------------------------------------------------------------------
    def page(self, params: dict[str, str]) -> tuple[int, Any]:
        symbol, limit = params.get("symbol", ""), int(params.get("limit", "500"))
        if symbol not in self.rows:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        if not 1 <= limit <= MAX_LIMIT:
            return 400, {"code": -1130, "msg": "limit out of range"}
        start, now = int(params.get("startTime", "0")), self.now_ms()
        rows = [r for r in self.rows[symbol] if r[0] >= start and r[0] <= now][:limit]
        if rows and rows[-1][6] >= now:  # the bar still forming: its close keeps moving
            mid = (float(rows[-1][2]) + float(rows[-1][3])) / 2
            rows[-1] = [*rows[-1][:4], repr(mid), *rows[-1][5:]]
        return 200, [list(r) for r in rows]


def _handler(exchange: FakeExchange) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            params = {k: v[-1] for k, v in parse_qs(url.query).items()}
            exchange.requests.append(Request(url.path, params))
            if url.path == "/api/v3/time":
                return self._send(200, {"serverTime": exchange.now_ms()})
            if url.path != "/api/v3/klines":
                return self._send(404, {"code": -1, "msg": "not found"})
            fault = exchange.faults.popleft() if exchange.faults else None
            if fault is not None and fault.kind == "drop":
                self.close_connection = True
                return None
            if fault is not None and fault.kind == "stall":
                time.sleep(fault.seconds)
            if fault is not None and fault.kind == "status":
                after = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
                return self._send(fault.code, {"code": -1003, "msg": "fault"}, after)
            code, body = exchange.page(params)
            if fault is not None and code == 200 and len(body) > fault.row:
                body = _corrupt(body, fault)
            return self._send(code, body)

    return Handler


def _corrupt(rows: list[list[Any]], fault: Fault) -> list[list[Any]]:
    i = fault.row
    if fault.kind == "malformed":
        rows[i] = [rows[i][0], "not-a-price", *rows[i][2:]]
    elif fault.kind == "out_of_order" and i > 0:
        rows[i] = list(rows[i - 1])
    return rows
