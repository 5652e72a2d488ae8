"""Schema-driven fuzzing against the live app's own ``/openapi.json`` (``openapi_fuzz.py``).

For every operation the document lists, Hypothesis picks one stated constraint at a time,
breaks it in a real, otherwise valid request and expects 422 naming that field (a path
parameter that no longer matches may also be an unknown route: 404 / 405). Boundary
values the document allows must never cause a 5xx. Writes carry the key, so validation,
not authentication, is what answers; boundary values are only sent to operations that do
not change stored state.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.harness import ReliabilityApp
from tests.reliability.openapi_fuzz import (
    apply,
    boundaries,
    field_name,
    operation_violations,
    operations,
)

pytestmark = [pytest.mark.ray, pytest.mark.slow]

EXAMPLES = 40
SENT: Counter[str] = Counter()
KEYS = (
    "POST /v1/predict",
    "POST /enhanced/predict",
    "POST /v1/candles/{symbol}",
    "POST /v1/outcomes",
    "GET /v1/candles/{symbol}",
    "GET /v1/performance/{symbol}",
    "GET /v1/predictions/{symbol}",
    "GET /v1/calibration/{symbol}",
    "GET /v1/weights/{symbol}",
    "GET /v1/portfolio/equity",
    "GET /v1/trades",
    "POST /v1/portfolio/reset",
)
STATELESS = (  # the ones with numeric ranges that change nothing
    "POST /v1/predict",
    "GET /v1/candles/{symbol}",
    "GET /v1/portfolio/equity",
    "GET /v1/trades",
)


@pytest.fixture(scope="module")
def spec(rel_app: ReliabilityApp) -> dict[str, Any]:
    r = rel_app.client.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


@pytest.fixture(scope="module")
def examples(window) -> dict[str, dict[str, Any]]:
    """A valid request per operation: ``{"body": ..., "path": {...}, "query": {...}}``."""
    bar = {**window[-1]}
    return {
        "POST /v1/predict": {"body": {"symbol": "BTCUSDT", "candles": window}},
        "POST /enhanced/predict": {
            "body": {"symbol": "BTCUSDT", "features": bar, "sequence_length": 60}
        },
        "POST /v1/candles/{symbol}": {"body": {"candles": window}, "path": {"symbol": "BTCUSDT"}},
        "POST /v1/outcomes": {"body": {"prediction_id": "0" * 32, "realized_return": 0.0}},
        "GET /v1/candles/{symbol}": {"path": {"symbol": "BTCUSDT"}, "query": {"limit": 10}},
        "GET /v1/performance/{symbol}": {"path": {"symbol": "BTCUSDT"}},
        "GET /v1/predictions/{symbol}": {"path": {"symbol": "BTCUSDT"}, "query": {"limit": 10}},
        "GET /v1/calibration/{symbol}": {
            "path": {"symbol": "BTCUSDT"},
            "query": {"limit": 10, "bins": 10},
        },
        "GET /v1/weights/{symbol}": {"path": {"symbol": "BTCUSDT"}, "query": {"limit": 10}},
        "GET /v1/portfolio/equity": {"query": {"limit": 10}},
        "GET /v1/trades": {"query": {"book": "shadow", "before": 5, "limit": 10}},
        "POST /v1/portfolio/reset": {"body": {"book": "shadow"}},
    }


def _send(app: ReliabilityApp, method: str, path: str, request: dict[str, Any]):
    for name, value in (request.get("path") or {}).items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    content = json.dumps(request["body"]).encode() if "body" in request else None
    headers = {"content-type": "application/json", **app.auth}
    return app.client.request(
        method, path, content=content, params=request.get("query"), headers=headers
    )


def test_the_document_lists_exactly_the_operations_fuzzed_here(spec) -> None:
    found = {f"{op.method} {op.path}" for op in operations(spec) if op.body or op.parameters}
    assert found == set(KEYS), "an operation with inputs is not fuzzed (or is gone)"


@pytest.mark.parametrize("key", KEYS)
def test_each_stated_constraint_is_enforced(rel_app, spec, examples, window, key) -> None:
    method, path = key.split(" ", 1)
    (op,) = [o for o in operations(spec) if o.method == method and o.path == path]
    found = operation_violations(spec, op)
    assert found, f"{key}: the document states no constraint"

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        v = data.draw(st.sampled_from(found), label="violation")
        value = data.draw(v.values, label="value")
        index = data.draw(st.integers(0, len(window) - 1), label="index")
        key_name = next((data.draw(p) for p in v.where if isinstance(p, st.SearchStrategy)), "")
        request = apply(examples[key], v.where, value, index, key_name)
        r = _send(rel_app, method, path, request)
        SENT[key] += 1
        name = field_name(v.where, index, key_name) or "body"
        where = f"{key} {v.kind} at {name}: {r.status_code} {r.text[:300]}"
        allowed = {422} | ({404, 405} if v.where[0] == "path" else set())
        assert r.status_code in allowed, where
        if r.status_code == 422:
            fields = [e["field"] for e in r.json()["errors"]]
            assert any(f.startswith(name) for f in fields), where

    run()
    assert SENT[key] >= 10
    assert rel_app.client.get("/healthz").status_code == 200


@pytest.mark.parametrize("key", STATELESS)
def test_boundary_values_the_document_allows_never_fail_the_server(
    rel_app, spec, examples, key
) -> None:
    method, path = key.split(" ", 1)
    (op,) = [o for o in operations(spec) if o.method == method and o.path == path]
    edges = list(boundaries(spec, op.body, ("body",))) if op.body else []
    for param in op.parameters:
        edges += list(boundaries(spec, param["schema"], (param["in"], param["name"])))
    for where, value in edges:
        for index in (0, 128, 255):
            request = apply(examples[key], where, value, index, "")
            r = _send(rel_app, method, path, request)
            SENT[key] += 1
            assert r.status_code < 500, f"{key} {where}={value}: {r.status_code} {r.text[:300]}"
    assert edges, f"{key}: the document states no numeric range"


def test_openapi_requests_total() -> None:
    """Runs last: how many schema-driven requests this module sent."""
    if not SENT:
        pytest.skip("no schema-driven test ran in this session")
    print(f"\nschema-driven requests: {dict(SENT)} total {sum(SENT.values())}")
    assert sum(SENT.values()) >= 200
