"""The plan of the malformed-request fuzz: path, auth and method categories, and which
categories apply to which endpoint (``PLAN``). Body categories live in ``strategies.py``.
"""

from __future__ import annotations

import posixpath
import re
import string
from collections.abc import Callable
from urllib.parse import quote

from hypothesis import assume
from hypothesis import strategies as st

from tests.reliability.strategies import (
    ENDPOINTS,
    JSON_CT,
    TRAVERSALS,
    Bad,
    Ctx,
    auth,
    bad_number,
    candle_count,
    dumps,
    duplicate_timestamps,
    high_below_low,
    invalid_json,
    json_request,
    missing_field,
    oversize_body,
    unknown_field,
    unsorted_timestamps,
    wrong_content_type,
    wrong_type,
)


def unknown_symbol(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    symbols = st.from_regex(r"[A-Z0-9]{2,20}", fullmatch=True).filter(
        lambda s: s not in ctx.allowed
    )

    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        symbol = draw(symbols)
        if name in ("predict", "enhanced"):
            body = ENDPOINTS[name].body(ctx)
            body["symbol"] = symbol
            return json_request(name, ctx, body, "unknown_symbol", {404: "symbol"})
        return _with_symbol(name, ctx, symbol, "unknown_symbol", {404: "symbol"}, False)

    return build()


def _raw_ok(value: str) -> bool:
    """Whether ``value`` can go into a request line as it is (then it is sent unencoded)."""
    return value.isascii() and value.isprintable() and not set(value) & set(" ?#")


def traversal(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    """Path traversal and other hostile names in symbols (JSON or path) and ids."""
    well_formed = re.compile(r"[A-Z0-9]{2,20}|[0-9a-f]{32}")
    names = st.one_of(st.sampled_from(TRAVERSALS), st.text(min_size=1, max_size=25))
    names = names.filter(lambda s: not well_formed.fullmatch(s))

    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        value = draw(names)
        if name in ("predict", "enhanced", "outcomes"):
            body = ENDPOINTS[name].body(ctx)
            key = "prediction_id" if name == "outcomes" else "symbol"
            body[key] = value
            return json_request(name, ctx, body, "traversal", {422: key})
        raw = draw(st.booleans()) and _raw_ok(value)
        expect = {404: None, 422: "symbol", 405: None}
        return _with_symbol(name, ctx, value, "traversal", expect, raw)

    return build()


def _with_symbol(name: str, ctx: Ctx, symbol: str, category: str, expect: dict, raw: bool) -> Bad:
    spec = ENDPOINTS[name]
    segment = symbol if raw else quote(symbol, safe="")
    path = spec.path.replace("{symbol}", segment)
    if spec.body is None:
        return Bad(category, spec.method, path, expect, raw=raw)
    headers = {**JSON_CT, **auth(ctx)}
    return Bad(category, spec.method, path, expect, dumps(spec.body(ctx)), headers, raw=raw)


def wrong_method(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    spec = ENDPOINTS[name]
    served = {spec.method, *spec.others}
    others = [m for m in ("GET", "POST", "PUT", "DELETE", "PATCH") if m not in served]

    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        method = draw(st.sampled_from(others))
        path = spec.path.replace("{symbol}", "BTCUSDT")
        return Bad("wrong_method", method, path, {405: None}, headers=auth(ctx))

    return build()


def bad_auth(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    """A valid request of a write endpoint without the right key: 401 or 403 only."""
    printable = st.text(string.ascii_letters + string.digits + "-_.~+/=", min_size=1, max_size=60)
    headers = st.one_of(
        st.just({}),
        printable.filter(lambda k: k != ctx.key).map(lambda k: {"Authorization": f"Bearer {k}"}),
        st.sampled_from(["Basic", "Token abc", "Bearer", f"bearer {ctx.key}x", "Bearer a b"]).map(
            lambda value: {"Authorization": value}
        ),
        st.just({"Authorization": f"Basic {ctx.key}"}),
        st.just({"Authorization": ctx.key}),
        st.just({"Authorization": f"Bearer {ctx.key[:-1]}"}),
        st.just({"X-Api-Key": ctx.key}),
    )

    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        spec = ENDPOINTS[name]
        path = spec.path.replace("{symbol}", "BTCUSDT")
        content = dumps(spec.body(ctx)) if spec.body else None
        expect = {401: "Authorization", 403: "Authorization"}
        return Bad("bad_auth", spec.method, path, expect, content, {**JSON_CT, **draw(headers)})

    return build()


def bad_query(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    limits = st.one_of(
        st.integers(max_value=0),
        st.integers(min_value=1_000_001),
        st.sampled_from(["abc", "1.5", "", "1e3", "0x10", "NaN", "∞"]),
    )
    return limits.map(
        lambda v: Bad(
            "bad_query", "GET", "/v1/candles/BTCUSDT", {422: "limit"}, params={"limit": v}
        )
    )


def unknown_prediction(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    ids = st.from_regex(r"[0-9a-f]{32}", fullmatch=True)

    def build(pid: str) -> Bad:
        body = {"prediction_id": pid, "realized_return": 0.0}
        return json_request(name, ctx, body, "unknown_prediction", {404: "prediction_id"})

    return ids.map(build)


_ROUTES = [re.compile(re.sub(r"\{[^}]+\}", "[^/]+", e.path) + "/?") for e in ENDPOINTS.values()]


def _resolves_to_a_route(path: str) -> bool:
    """Whether a raw path's dot segments land on one of the API's own paths: the server
    resolves ``/v1/models/reload/..`` to ``/v1/models`` as RFC 3986 says, so that request
    is no traversal but a call of that endpoint."""
    resolved = posixpath.normpath(path)
    return any(route.fullmatch(resolved) for route in _ROUTES)


def version_traversal(name: str, ctx: Ctx) -> st.SearchStrategy[Bad]:
    """Model / version paths the API does not have: never a file, always 404 or 405."""
    tails = st.one_of(st.sampled_from(TRAVERSALS[:6]), st.text(min_size=1, max_size=20))
    templates = ("/v1/models/{x}", "/v1/models/BTCUSDT/cnn_lstm/{x}", "/v1/models/reload/{x}")

    @st.composite
    def build(draw: st.DrawFn) -> Bad:
        tail = draw(tails)
        raw = draw(st.booleans()) and _raw_ok(tail)
        path = draw(st.sampled_from(templates)).replace(
            "{x}", tail if raw else quote(tail, safe="")
        )
        assume(not _resolves_to_a_route(path))  # raw, or as httpx resolves it before sending
        method = draw(st.sampled_from(["GET", "POST"]))
        return Bad("traversal", method, path, {404: None, 405: None}, headers=auth(ctx), raw=raw)

    return build()


Category = Callable[[str, Ctx], st.SearchStrategy[Bad]]
BODY_CATEGORIES: dict[str, Category] = {
    "wrong_type": wrong_type,
    "missing_field": missing_field,
    "unknown_field": unknown_field,
    "bad_number": bad_number,
    "invalid_json": invalid_json,
    "wrong_content_type": wrong_content_type,
    "oversize_body": oversize_body,
    "wrong_method": wrong_method,
}
CANDLE_CATEGORIES: dict[str, Category] = {
    "high_below_low": high_below_low,
    "unsorted_timestamps": unsorted_timestamps,
    "duplicate_timestamps": duplicate_timestamps,
    "candle_count": candle_count,
}
PLAN: dict[str, dict[str, Category]] = {
    "predict": {
        **BODY_CATEGORIES,
        **CANDLE_CATEGORIES,
        "unknown_symbol": unknown_symbol,
        "traversal": traversal,
    },
    "enhanced": {
        **BODY_CATEGORIES,
        "high_below_low": high_below_low,
        "unknown_symbol": unknown_symbol,
        "traversal": traversal,
        "bad_auth": bad_auth,
    },
    "candles_post": {
        **BODY_CATEGORIES,
        **CANDLE_CATEGORIES,
        "unknown_symbol": unknown_symbol,
        "traversal": traversal,
        "bad_auth": bad_auth,
    },
    "outcomes": {
        **BODY_CATEGORIES,
        "traversal": traversal,
        "unknown_prediction": unknown_prediction,
        "bad_auth": bad_auth,
    },
    "candles_get": {
        "unknown_symbol": unknown_symbol,
        "traversal": traversal,
        "bad_query": bad_query,
        "wrong_method": wrong_method,
    },
    "performance": {
        "unknown_symbol": unknown_symbol,
        "traversal": traversal,
        "wrong_method": wrong_method,
    },
    "models": {"wrong_method": wrong_method, "traversal": version_traversal},
    "reload": {"bad_auth": bad_auth, "wrong_method": wrong_method},
    "healthz": {"wrong_method": wrong_method},
}
"""Endpoint -> category -> strategy: every category that applies to every endpoint."""
