"""Hundreds of generated malformed requests against every endpoint of the live Serve app.

Every (endpoint, category) pair of ``plan.PLAN`` gets its own Hypothesis run; each
answer must be one of the 4xx statuses the request allows, in the API's error shape, naming
the field at fault (where one is), without a traceback or the API key in it. ``/healthz``
must still answer 200 after each run. The requests sent are counted per pair, and the last
test checks the whole run sent at least 500 (run the module alone to see the table).
"""

from __future__ import annotations

import http.client
import json
from collections import Counter
from urllib.parse import urlsplit

import httpx
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings

from models.serving.pipeline import required_bars
from tests.reliability.harness import MAX_BODY, MAX_CANDLES, ReliabilityApp, candles_json
from tests.reliability.plan import PLAN
from tests.reliability.strategies import Bad, Ctx

pytestmark = [pytest.mark.ray, pytest.mark.slow]

EXAMPLES = 12
PAIRS = [(endpoint, category) for endpoint, plan in PLAN.items() for category in plan]
SENT: Counter[tuple[str, str]] = Counter()


@pytest.fixture(scope="module")
def ctx(rel_app: ReliabilityApp, btc: pl.DataFrame) -> Ctx:
    return Ctx(
        window=candles_json(btc.slice(15000, 256)),
        long=candles_json(btc.slice(16000, MAX_CANDLES + 50)),
        key=rel_app.key,
        allowed=rel_app.settings.symbols or (),
        max_candles=MAX_CANDLES,
        max_body=MAX_BODY,
        min_bars=required_bars(),
    )


def _send_raw(base_url: str, bad: Bad) -> tuple[int, str]:
    """Send the path exactly as written (httpx would resolve ``..`` before sending)."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        body = bad.content if isinstance(bad.content, bytes) else None
        conn.request(bad.method, url.path + bad.path, body=body, headers=bad.headers)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def send(app: ReliabilityApp, bad: Bad) -> tuple[int, str]:
    if bad.raw:
        return _send_raw(app.base_url, bad)
    r = app.client.request(
        bad.method, bad.path, content=bad.content, headers=bad.headers, params=bad.params
    )
    return r.status_code, r.text


def check(bad: Bad, status: int, text: str, key: str) -> None:
    """A 4xx the request allows, naming the expected field, no traceback, no key."""
    where = f"{bad.category} {bad.method} {bad.path[:80]} -> {status}: {text[:300]}"
    assert 400 <= status < 500 and status in bad.expect, where
    assert key not in text and "Traceback" not in text, where
    body = json.loads(text)
    errors = body["errors"]
    assert errors and body["detail"] and all(e["reason"] for e in errors), where
    wanted = bad.expect[status]
    if wanted is not None:
        assert any(wanted in e["field"] for e in errors), f"expected field {wanted!r}: {where}"


@pytest.mark.parametrize(("endpoint", "category"), PAIRS, ids=[f"{e}-{c}" for e, c in PAIRS])
def test_malformed_requests_get_a_clear_4xx(app, ctx, endpoint, category) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(bad=PLAN[endpoint][category](endpoint, ctx))
    def run(bad: Bad) -> None:
        try:
            status, text = send(app, bad)
        except (httpx.HTTPError, OSError) as exc:
            where = f"{bad.category} {bad.method} {bad.path}"
            raise AssertionError(f"{where}: no answer ({exc})") from exc
        SENT[(endpoint, category)] += 1
        check(bad, status, text, app.key)

    run()
    assert SENT[(endpoint, category)] >= 1
    assert app.client.get("/healthz").status_code == 200


def test_at_least_500_malformed_requests_were_answered() -> None:
    """Runs last: the sum over every pair (skipped when only some pairs were selected)."""
    missing = [p for p in PAIRS if p not in SENT]
    if missing:
        pytest.skip(f"{len(missing)} (endpoint, category) pairs did not run in this session")
    by_category: Counter[str] = Counter()
    for (_, category), n in SENT.items():
        by_category[category] += n
    table = "\n".join(f"  {c:<22}{n:>5}" for c, n in sorted(by_category.items()))
    print(f"\nmalformed requests per category:\n{table}\n  {'total':<22}{sum(SENT.values()):>5}")
    assert sum(SENT.values()) >= 500, SENT
