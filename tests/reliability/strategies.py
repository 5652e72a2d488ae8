"""Hypothesis strategies of malformed requests: one strategy per (endpoint, category).

Each draw is a :class:`Bad` request that also says what a correct server answers: which 4xx
statuses are acceptable and, for each, the field the message must name (``None`` where no
field applies, e.g. an unknown route). Bodies start from real candles and are broken in one
way at a time, so the field to blame is known exactly. Nothing drawn here is a valid
request: a valid write would change the app's state under the other tests.
"""

from __future__ import annotations

import copy
import json
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

RAW = "__RAW_TOKEN__"
NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e400", "-1e400")
TRAVERSALS = (
    "../../etc/passwd",
    "..",
    "../BTCUSDT",
    "BTCUSDT/../../state.db",
    "..\\..\\windows",
    "/etc/passwd",
    "BTC\x00USDT",
    "%2e%2e%2f%2e%2e",
    "....//....//",
    "\u2024\u2024/\u2024\u2024",
    "BTCUSDT\n",
    " BTCUSDT",
    "",
)
CONTENT_TYPES = (
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    "application/octet-stream",
    "",
)
JSON_CT = {"content-type": "application/json"}


@dataclass(frozen=True)
class Ctx:
    """What the strategies build on: real candles, the app's limits and its key."""

    window: list[dict[str, Any]]  # 256 real candles
    long: list[dict[str, Any]]  # more real candles than one request may carry
    key: str
    allowed: tuple[str, ...]
    max_candles: int
    max_body: int
    min_bars: int


@dataclass(frozen=True)
class Endpoint:
    """One API operation; ``others`` are further methods served on the same path."""

    name: str
    method: str
    path: str
    body: Callable[[Ctx], dict[str, Any]] | None = None
    write: bool = False
    others: tuple[str, ...] = ()


CANDLES = ("GET", "POST")


class Bad:
    """A malformed request and the acceptable answers: status -> field the message names.

    A plain class, not a dataclass: Hypothesis prints dataclass fields of a failing example
    (bodies of 256 candles, the API key); this ``__repr__`` is short and keyless.
    """

    def __init__(
        self,
        category: str,
        method: str,
        path: str,
        expect: dict[int, str | None],
        content: bytes | Iterator[bytes] | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        raw: bool = False,  # send the path byte for byte (no client-side ``..`` removal)
    ) -> None:
        self.category, self.method, self.path, self.expect = category, method, path, expect
        self.content, self.headers, self.params, self.raw = content, headers or {}, params, raw

    def __repr__(self) -> str:
        size = len(self.content) if isinstance(self.content, bytes) else "stream"
        head = self.content[:120] if isinstance(self.content, bytes) else b""
        return (
            f"Bad({self.category}, {self.method} {self.path[:100]!r}, expect={self.expect}, "
            f"params={self.params}, raw={self.raw}, headers={sorted(self.headers)}, "
            f"content[{size}]={head!r}...)"
        )


def dumps(body: Any) -> bytes:
    """JSON with raw tokens (NaN, 1e400) wherever the string ``RAW:<token>`` was placed."""
    text = json.dumps(body)
    for token in NON_FINITE:
        text = text.replace(json.dumps(f"{RAW}{token}"), token)
    return text.encode()


# --- request bodies -------------------------------------------------------------------------
def predict_body(ctx: Ctx) -> dict[str, Any]:
    return {"symbol": "BTCUSDT", "candles": copy.deepcopy(ctx.window)}


def enhanced_body(ctx: Ctx) -> dict[str, Any]:
    bar = dict(ctx.window[-1])
    return {"symbol": "BTCUSDT", "features": bar, "sequence_length": 60}


def candles_body(ctx: Ctx) -> dict[str, Any]:
    return {"candles": copy.deepcopy(ctx.window)}


def outcome_body(ctx: Ctx) -> dict[str, Any]:
    return {"prediction_id": "0" * 32, "realized_return": 0.01}


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint("predict", "POST", "/v1/predict", predict_body),
        Endpoint("enhanced", "POST", "/enhanced/predict", enhanced_body, True),  # it appends
        Endpoint("candles_post", "POST", "/v1/candles/{symbol}", candles_body, True, CANDLES),
        Endpoint("outcomes", "POST", "/v1/outcomes", outcome_body, True),
        Endpoint("candles_get", "GET", "/v1/candles/{symbol}", others=CANDLES),
        Endpoint("performance", "GET", "/v1/performance/{symbol}"),
        Endpoint("models", "GET", "/v1/models"),
        Endpoint("reload", "POST", "/v1/models/reload", write=True),
        Endpoint("healthz", "GET", "/healthz"),
    )
}

CANDLE_KINDS = {
    "timestamp": "timestamp",
    "open": "price",
    "high": "price",
    "low": "price",
    "close": "price",
    "volume": "volume",
}
# Fields of each body: path (``None`` stands for a candle index) -> kind of value.
CANDLE_SLOTS = {("candles", None, f): k for f, k in CANDLE_KINDS.items()}
SLOTS: dict[str, dict[tuple[Any, ...], str]] = {
    "predict": {
        ("symbol",): "symbol",
        ("candles",): "list",
        **CANDLE_SLOTS,
    },
    "enhanced": {
        ("symbol",): "symbol",
        ("features",): "object",
        ("sequence_length",): "count",
        **{("features", f): k for f, k in CANDLE_KINDS.items()},
    },
    "candles_post": {("candles",): "list", **CANDLE_SLOTS},
    "outcomes": {("prediction_id",): "id", ("realized_return",): "return"},
}
OPTIONAL_KEYS = {"cost_bps"}
"""Optional request fields no default body carries (``/v1/predict``'s cost override)."""
OPTIONAL: dict[str, set[tuple[Any, ...]]] = {
    "predict": {("candles",)},  # a symbol alone asks for the stored series' signal
    "enhanced": {("features", "timestamp"), ("sequence_length",)},
}
"""Fields an endpoint's body may leave out (removing one is not a bad request)."""


def render(path: tuple[Any, ...]) -> str:
    """``("candles", 3, "high")`` -> ``candles[3].high`` (how the API names fields)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _set(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target = body
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def _delete(body: dict[str, Any], path: tuple[Any, ...]) -> None:
    target = body
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]


@st.composite
def slot(draw: st.DrawFn, endpoint: str, ctx: Ctx, kinds: set[str] | None = None) -> tuple:
    """A field path of ``endpoint`` (candle index drawn) and its kind."""
    table = {p: k for p, k in SLOTS[endpoint].items() if kinds is None or k in kinds}
    path, kind = draw(st.sampled_from(sorted(table.items(), key=str)))
    index = draw(st.integers(0, len(ctx.window) - 1))
    return tuple(index if p is None else p for p in path), kind


_junk_dict = st.dictionaries(st.text(max_size=3), st.integers(), min_size=1, max_size=2)
_junk_list = st.lists(st.integers(), max_size=2)
WRONG_TYPE: dict[str, st.SearchStrategy[Any]] = {
    "price": st.one_of(st.text(max_size=8), st.booleans(), st.none(), _junk_list, _junk_dict),
    "timestamp": st.one_of(
        st.text(string.ascii_letters + " :-", min_size=1, max_size=10),
        st.booleans(),
        _junk_list,
        _junk_dict,
    ),
    "symbol": st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(), st.none()),
    "list": st.one_of(st.text(max_size=5), st.integers(), st.booleans(), st.none(), _junk_dict),
    "object": st.one_of(st.text(max_size=5), st.integers(), st.none(), _junk_list),
    "count": st.one_of(st.text(max_size=4), st.floats(allow_nan=False), st.booleans(), _junk_list),
}
WRONG_TYPE["volume"] = WRONG_TYPE["return"] = WRONG_TYPE["price"]
WRONG_TYPE["id"] = WRONG_TYPE["symbol"]

_raw = st.sampled_from([f"{RAW}{t}" for t in NON_FINITE])
BAD_NUMBER: dict[str, st.SearchStrategy[Any]] = {
    "price": st.one_of(
        _raw,
        st.floats(max_value=0.0, allow_nan=False, allow_infinity=False),
        st.floats(min_value=1.01e15, allow_nan=False, allow_infinity=False),
        st.just(10**400),
    ),
    "volume": st.one_of(
        _raw,
        st.floats(max_value=-1e-12, allow_nan=False, allow_infinity=False),
        st.floats(min_value=1.01e18, allow_nan=False, allow_infinity=False),
    ),
    "return": st.one_of(
        _raw,
        st.floats(min_value=10.0001, allow_nan=False, allow_infinity=False),
        st.floats(max_value=-10.0001, allow_nan=False, allow_infinity=False),
    ),
    "count": st.integers(max_value=0),
}


def json_request(name: str, ctx: Ctx, body: Any, category: str, expect: dict) -> Bad:
    spec = ENDPOINTS[name]
    headers = {**JSON_CT, **(auth(ctx) if spec.write else {})}
    path = spec.path.replace("{symbol}", "BTCUSDT")
    return Bad(category, spec.method, path, expect, dumps(body), headers)


def auth(ctx: Ctx) -> dict[str, str]:
    return {"Authorization": f"Bearer {ctx.key}"}


# --- categories of JSON-body endpoints ------------------------------------------------------
def wrong_type(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        path, kind = draw(slot(name, ctx))
        values = WRONG_TYPE[kind]
        if tuple(path) in OPTIONAL.get(name, set()):  # null there means "left out"
            values = values.filter(lambda v: v is not None)
        value = draw(values)
        body = ENDPOINTS[name].body(ctx)
        _set(body, path, value)
        return json_request(name, ctx, body, "wrong_type", {422: render(path)})

    return build()


def missing_field(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        optional = OPTIONAL.get(name, set())
        path, _ = draw(slot(name, ctx).filter(lambda s: tuple(s[0]) not in optional))
        body = ENDPOINTS[name].body(ctx)
        _delete(body, path)
        return json_request(name, ctx, body, "missing_field", {422: render(path)})

    return build()


def unknown_field(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        body = ENDPOINTS[name].body(ctx)
        objects: list[tuple[Any, ...]] = [()]
        if "candles" in body:
            objects.append(("candles", draw(st.integers(0, len(body["candles"]) - 1))))
        if "features" in body:
            objects.append(("features",))
        where = draw(st.sampled_from(objects))
        target = body
        for part in where:
            target = target[part]
        fields = target.keys() | OPTIONAL_KEYS  # an optional field is not unknown
        key = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in fields))
        target[key] = draw(st.one_of(st.integers(), st.text(max_size=5), st.none()))
        return json_request(name, ctx, body, "unknown_field", {422: render((*where, key))})

    return build()


def bad_number(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        path, kind = draw(slot(name, ctx, set(BAD_NUMBER)))
        body = ENDPOINTS[name].body(ctx)
        _set(body, path, draw(BAD_NUMBER[kind]))
        return json_request(name, ctx, body, "bad_number", {422: render(path)})

    return build()


def high_below_low(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        body = ENDPOINTS[name].body(ctx)
        factor = draw(st.floats(0.1, 0.99))
        if name == "enhanced":
            path: tuple[Any, ...] = ("features", "high")
            bar = body["features"]
        else:
            path = ("candles", draw(st.integers(0, len(body["candles"]) - 1)), "high")
            bar = body["candles"][path[1]]
        bar["high"] = bar["low"] * factor
        return json_request(name, ctx, body, "high_below_low", {422: render(path)})

    return build()


def unsorted_timestamps(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        body = ENDPOINTS[name].body(ctx)
        rows = body["candles"]
        i = draw(st.integers(0, len(rows) - 2))
        j = draw(st.integers(i + 1, len(rows) - 1))
        rows[i]["timestamp"], rows[j]["timestamp"] = rows[j]["timestamp"], rows[i]["timestamp"]
        blamed = render(("candles", i + 1, "timestamp"))
        return json_request(name, ctx, body, "unsorted_timestamps", {422: blamed})

    return build()


def duplicate_timestamps(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        body = ENDPOINTS[name].body(ctx)
        rows = body["candles"]
        j = draw(st.integers(1, len(rows) - 1))
        rows[j]["timestamp"] = rows[j - 1]["timestamp"]
        blamed = render(("candles", j, "timestamp"))
        return json_request(name, ctx, body, "duplicate_timestamps", {422: blamed})

    return build()


def candle_count(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    """Empty, too few (predict needs ``min_bars``) or more than ``max_candles``."""
    sizes = [st.just(0), st.integers(ctx.max_candles + 1, len(ctx.long))]
    if name == "predict":
        sizes.append(st.integers(1, ctx.min_bars - 1))

    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        n = draw(st.one_of(*sizes))
        body = ENDPOINTS[name].body(ctx)
        body["candles"] = copy.deepcopy(ctx.long[:n])
        return json_request(name, ctx, body, "candle_count", {422: "candles"})

    return build()


def invalid_json(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    def parses_to_object(data: bytes) -> bool:
        try:
            return isinstance(json.loads(data), dict)
        except (ValueError, UnicodeDecodeError):
            return False

    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        good = dumps(ENDPOINTS[name].body(ctx))
        content = draw(
            st.one_of(
                st.integers(0, len(good) - 1).map(lambda n: good[:n]),
                st.binary(min_size=1, max_size=64).filter(lambda b: not parses_to_object(b)),
                st.integers(0, len(good) - 1).map(lambda n: good[:n] + b"\xff\xfe" + good[n:]),
                st.one_of(st.integers(), st.text(max_size=5), st.none(), _junk_list).map(dumps),
            )
        )
        expect = {422: "body", 400: "body"}  # 400: bytes that are not even UTF-8
        request = json_request(name, ctx, {}, "invalid_json", expect)
        request.content = content
        return request

    return build()


def wrong_content_type(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        request = json_request(
            name, ctx, ENDPOINTS[name].body(ctx), "wrong_content_type",
            {422: "body", 415: "Content-Type"},
        )  # fmt: skip
        request.headers["content-type"] = draw(st.sampled_from(CONTENT_TYPES))
        return request

    return build()


def oversize_body(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        body = ENDPOINTS[name].body(ctx)
        extra = draw(st.integers(1, 64 * 1024))
        how = draw(st.sampled_from(["padding", "string", "chunked"]))
        text = dumps(body)
        if how == "padding":
            content: bytes | Iterator[bytes] = text + b" " * (ctx.max_body + extra - len(text))
        elif how == "string":
            body["note"] = "x" * (ctx.max_body + extra)
            content = dumps(body)
        else:
            total = ctx.max_body + extra
            content = iter([text] + [b" " * 65536] * (total // 65536 + 1))
        request = json_request(name, ctx, {}, "oversize_body", {413: "body"})
        request.content = content
        return request

    return build()
