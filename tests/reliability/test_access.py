"""Access control: keys on writes (and on reads when asked), size limits, no leaked secrets.

The live-app tests use the reliability app (``harness.py``), whose ingress gets its key
through ``runtime_env.env_vars``. Ray's runtime-env agent writes those variables to
``logs/runtime_env_agent.log``; production should set the key in the node's environment
instead (docs/reliability.md). The log test therefore greps the Serve logs and the worker
logs of the replicas, where a leak by our code would land.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials

from deployments import auth as auth_module
from deployments.auth import PROTECT_READS_ENV, ApiKeyAuth
from deployments.http_errors import ApiError
from models.data.paths import REPO_ROOT
from models.errors import ConfigError
from tests.reliability.harness import MAX_BODY, ReliabilityApp

WRITES: dict[tuple[str, str], str] = {
    # Anything that stores, appends, resolves, reloads, retrains or triggers work beyond
    # answering: the key is required, whatever SMARTMARKET_PROTECT_READS says.
    ("POST", "/v1/candles/{symbol}"): "appends candles, resolves predictions they make due",
    ("POST", "/enhanced/predict"): "appends the bar it is sent, then answers its signal",
    ("POST", "/v1/outcomes"): "resolves a prediction, teaching the ensemble",
    ("POST", "/v1/models/reload"): "loads newly published model versions",
    ("POST", "/v1/portfolio/reset"): "starts a trading book again (its history is deleted)",
}
READS: dict[tuple[str, str], str] = {
    # Answer from what is stored; open unless reads are protected.
    ("POST", "/v1/predict"): (
        "with candles: answers on them, stores nothing; with a symbol alone: the stored "
        "series' signal of its newest bar, made at most once per bar from operator data "
        "(what the feed would store), then served from the store"
    ),
    ("GET", "/v1/candles/{symbol}"): "stored candles",
    ("GET", "/v1/performance/{symbol}"): "learned weights and counts",
    ("GET", "/v1/models"): "registry versions and what is loaded",
    ("GET", "/v1/symbols"): "stored symbols",
    ("GET", "/v1/predictions/{symbol}"): "stored predictions",
    ("GET", "/v1/calibration/{symbol}"): "calibration of resolved predictions",
    ("GET", "/v1/weights/{symbol}"): "expert weights over time",
    ("GET", "/v1/feed"): "the feed's status",
    ("GET", "/v1/portfolio"): "the trading books",
    ("GET", "/v1/portfolio/targets"): "what the books did at the newest bar",
    ("GET", "/v1/portfolio/equity"): "the books' equity curves",
    ("GET", "/v1/trades"): "the books' fills",
}
OPEN: dict[tuple[str, str], str] = {
    # Never keyed: no stored data in the answer.
    ("GET", "/healthz"): "load balancers probe it; names deployments and whether writes are open",
    ("GET", "/ui"): "a static page; its data comes from the reads, with the key it asks for",
}


def _bearer(token: str) -> HTTPAuthorizationCredentials:
    return HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)


# --- the key check itself (no Ray) -----------------------------------------------------------
def test_key_is_compared_in_constant_time(monkeypatch) -> None:
    monkeypatch.setenv("REL_TEST_KEY", "k" * 40)
    calls: list[tuple[bytes, bytes]] = []
    real = auth_module.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth_module.hmac, "compare_digest", spy)
    check = ApiKeyAuth("REL_TEST_KEY")
    check.check(_bearer("k" * 40))
    for wrong in ("k" * 39, "k" * 41, "x" + "k" * 39, ""):
        with pytest.raises(ApiError) as err:
            check.check(_bearer(wrong))
        assert err.value.status == 403 and "k" * 39 not in err.value.reason
    assert len(calls) == 5 and all(b == b"k" * 40 for _, b in calls)


def test_protected_reads_need_a_key(monkeypatch) -> None:
    monkeypatch.setenv(PROTECT_READS_ENV, "1")
    monkeypatch.delenv("REL_TEST_KEY", raising=False)
    with pytest.raises(ConfigError, match=f"{PROTECT_READS_ENV}: .*REL_TEST_KEY is empty"):
        ApiKeyAuth("REL_TEST_KEY")
    monkeypatch.setenv("REL_TEST_KEY", "secret-" * 4)
    assert ApiKeyAuth("REL_TEST_KEY").protect_reads
    monkeypatch.setenv(PROTECT_READS_ENV, "0")
    open_reads = ApiKeyAuth("REL_TEST_KEY")
    assert not open_reads.protect_reads
    open_reads.check_read(None)  # allowed


# --- secrets in the repository (no Ray) ------------------------------------------------------
KEY_PATTERNS = {
    "AWS access key": r"\b(AKIA|ASIA)[0-9A-Z]{16}\b",
    "private key": r"-----BEGIN (RSA |EC |OPENSSH |DSA |PGP )?PRIVATE KEY",
    "GitHub token": r"\bgh[pousr]_[A-Za-z0-9]{36,}\b",
    "Slack token": r"\bxox[baprs]-[A-Za-z0-9-]{10,}",
    "Google API key": r"\bAIza[0-9A-Za-z_\-]{35}\b",
    "OpenAI-style key": r"\bsk-[A-Za-z0-9]{32,}\b",
    "bearer token literal": r"Bearer\s+[A-Za-z0-9_\-\.=]{24,}",
    "assigned secret": (
        r"(?i)\b[a-z_]*(api_?key|secret|token|passw(or)?d)[a-z_]*\b\s*[:=]\s*"
        r"['\"][A-Za-z0-9_\-\+/=\.]{20,}['\"]"
    ),
}
SECRET_FILES = re.compile(
    r"(^|/)(\.env(\..+)?|id_rsa|id_ed25519|.*\.pem|.*\.p12|credentials\.json)$"
)


def test_no_key_like_strings_in_tracked_files() -> None:
    try:
        listed = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "ls-files", "-z"],
            capture_output=True,
            check=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout")
    files = [f for f in listed.stdout.decode().split("\0") if f]
    assert len(files) > 50
    found = [f"{f}: a secret file is tracked" for f in files if SECRET_FILES.search(f)]
    patterns = {name: re.compile(p) for name, p in KEY_PATTERNS.items()}
    for name in files:
        path = REPO_ROOT / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_bytes().decode("utf-8", "ignore")
        for what, pattern in patterns.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{name}:{line}: {what}")
    assert not found, "\n".join(found)


def test_the_scanner_finds_planted_keys() -> None:
    """The patterns above are not dead: each catches a sample of its kind."""
    samples = {
        "AWS access key": "aws = AKIA" + "ABCDEFGHIJKLMNOP",
        "private key": "-----BEGIN RSA " + "PRIVATE KEY-----",
        "GitHub token": "ghp_" + "a1" * 18,
        "Slack token": "xoxb-" + "1234567890-abc",
        "Google API key": "AIza" + "B" * 35,
        "OpenAI-style key": "sk-" + "Q" * 40,
        "bearer token literal": "Authorization: Bearer " + "z" * 30,
        "assigned secret": 'API_KEY = "' + "q7" * 12 + '"',
    }
    for what, sample in samples.items():
        assert re.search(KEY_PATTERNS[what], sample), what


# --- the live app ----------------------------------------------------------------------------
def _operations(app: ReliabilityApp) -> set[tuple[str, str]]:
    spec = app.client.get("/openapi.json").json()
    return {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}


def _call(app: ReliabilityApp, op: tuple[str, str], headers: dict[str, str]):
    method, path = op
    path = path.replace("{symbol}", "BTCUSDT")
    body = b"{}" if method == "POST" else None
    return app.client.request(method, path, content=body, headers=headers)


def _assert_guarded(app: ReliabilityApp, op: tuple[str, str]) -> None:
    missing = _call(app, op, {})
    assert missing.status_code == 401, (op, missing.text)
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["errors"][0]["field"] == "Authorization"
    for header in (f"Bearer {app.key[:-1]}", f"Bearer {app.key}0", f"bearer {app.key.upper()}"):
        wrong = _call(app, op, {"Authorization": header})
        assert wrong.status_code == 403, (op, header, wrong.text)
    for header in (f"Basic {app.key}", app.key, "Bearer"):
        assert _call(app, op, {"Authorization": header}).status_code == 401, (op, header)
    right = _call(app, op, app.auth)
    assert right.status_code not in (401, 403), (op, right.text)


@pytest.mark.ray
@pytest.mark.slow
def test_every_write_and_admin_endpoint_requires_the_key(app: ReliabilityApp) -> None:
    operations = _operations(app)
    assert operations == set(WRITES) | set(READS) | set(OPEN), "new endpoint: classify it here"
    for op in sorted(WRITES):
        _assert_guarded(app, op)
    for op in sorted(set(READS) | set(OPEN)):  # open by default
        assert _call(app, op, {}).status_code not in (401, 403), op


def _api_routes(router: Any) -> Iterator[APIRoute]:
    """Every API route under ``router`` (Serve's ingress moves the class's routes into an
    included router, which FastAPI keeps as a node of its own)."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router)


def test_every_route_is_classified_and_writes_carry_the_key_check() -> None:
    """Ray-free: the FastAPI app's own routes, and the dependency each write declares."""
    from deployments.ingress import app as api
    from deployments.ingress import require_key, require_read_key

    declared: dict[tuple[str, str], set[object]] = {}
    for route in _api_routes(api):
        if not route.include_in_schema:
            continue
        calls = {d.call for d in route.dependant.dependencies}
        for method in route.methods:
            declared[(method, route.path)] = calls
    assert set(declared) == set(WRITES) | set(READS) | set(OPEN), "classify the new route here"
    for op in WRITES:
        assert require_key in declared[op], f"{op} writes but does not require the key"
    for op in READS:
        assert declared[op] == {require_read_key}, op
    for op in OPEN:
        assert not declared[op], op


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.redeploys_shared_app  # runs last here; the ``app`` fixture restores open reads
def test_reads_are_protected_on_request(rel_app: ReliabilityApp) -> None:
    rel_app.deploy(protect_reads=True)
    for op in sorted(set(READS) | set(WRITES)):
        _assert_guarded(rel_app, op)
    assert rel_app.client.get("/healthz").status_code == 200
    assert rel_app.client.get("/ui").status_code == 200  # the page asks for the key
    assert rel_app.client.get("/openapi.json").status_code == 200


def _raw_post(app: ReliabilityApp, path: str, body: bytes, headers: dict[str, str]):
    url = urlsplit(app.base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        conn.putrequest("POST", url.path + path)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.mark.ray
@pytest.mark.slow
def test_request_bodies_over_the_limit_are_413(app: ReliabilityApp) -> None:
    head, tail = b'{"symbol": "BTCUSDT", "candles": []', b"}"
    exact = head + b" " * (MAX_BODY - len(head) - len(tail)) + tail
    json_ct = {"content-type": "application/json"}
    at_limit = app.client.post("/v1/predict", content=exact, headers=json_ct)
    assert at_limit.status_code == 422 and at_limit.json()["errors"][0]["field"] == "candles"
    over = app.client.post("/v1/predict", content=exact + b" ", headers=json_ct)
    assert over.status_code == 413 and over.json()["errors"][0]["field"] == "body"
    assert f"over {MAX_BODY} bytes" in over.json()["detail"]
    # a declared length is refused before any of the body is read
    lying = {**json_ct, "Content-Length": str(10**12)}
    status, body = _raw_post(app, "/v1/candles/BTCUSDT", b"{}", {**lying, **app.auth})
    assert status == 413 and body["errors"][0]["field"] == "body"
    chunks = iter([exact] * 3)  # no Content-Length at all: counted as it arrives
    streamed = app.client.post("/v1/outcomes", content=chunks, headers={**json_ct, **app.auth})
    assert streamed.status_code == 413
    assert app.client.get("/healthz").status_code == 200


@pytest.mark.ray
@pytest.mark.slow
def test_the_key_is_never_echoed_nor_logged(app: ReliabilityApp, window) -> None:
    wrong = "smk-" + "7" * 40
    tokens = (app.key, wrong)
    sent = 0
    for op in [*sorted(_operations(app)), ("GET", "/openapi.json"), ("GET", "/docs")]:
        for token in tokens:
            for header in (f"Bearer {token}", f"Basic {token}", token):
                r = _call(app, op, {"Authorization": header})
                sent += 1
                for t in tokens:
                    assert t not in r.text and all(t not in v for v in r.headers.values()), op
    body = {"symbol": "BTCUSDT", "candles": window}
    r = app.client.post("/v1/predict", json=body, headers={"Authorization": f"Bearer {app.key}"})
    assert r.status_code == 200 and app.key not in r.text
    time.sleep(2.0)  # replica and proxy logs are flushed asynchronously
    import ray

    logs = Path(ray._private.worker.global_worker.node.get_session_dir_path()) / "logs"
    searched = [p for p in logs.rglob("*") if p.is_file() and _serve_log(p, logs)]
    assert sent > 50
    texts = {path: path.read_bytes() for path in searched}
    # positive control: the refused requests themselves are in the proxy's access log
    assert any(b"/v1/outcomes 403" in text for text in texts.values()), "no access log found"
    for path, text in texts.items():
        for token in tokens:
            assert token.encode() not in text, f"{token[:6]}... found in {path}"


def _serve_log(path: Path, logs: Path) -> bool:
    """Serve's own logs and the stdout/stderr of worker processes (replicas among them)."""
    rel = path.relative_to(logs)
    return rel.parts[0] == "serve" or rel.name.startswith(("worker-", "python-core-worker-"))
