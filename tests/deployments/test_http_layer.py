"""The HTTP layer without Ray: auth, error mapping, body limit, last-resort handler."""

from __future__ import annotations

import pytest
from fastapi import Depends, FastAPI
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

from deployments.auth import ApiKeyAuth, bearer
from deployments.http_errors import ApiError, install, library_error
from deployments.limits import BodyLimit
from models.errors import (
    ConfigError,
    ConflictError,
    DataValidationError,
    InsufficientDataError,
    NotFoundError,
)


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    x: float


def _app(limit: int = 2048, key_env: str = "TEST_HTTP_KEY", open_writes: bool = False) -> FastAPI:
    app = FastAPI()
    install(app)
    app.add_middleware(BodyLimit)
    app.state.max_body_bytes = limit
    auth = ApiKeyAuth(key_env, allow_open_writes=open_writes)

    @app.post("/item")
    async def item(body: Item) -> dict:
        return {"x": body.x}

    @app.post("/write")
    async def write(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> dict:  # noqa: B008
        auth.check(credentials)
        return {"ok": True}

    @app.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("secret internals")

    @app.get("/lib/{kind}")
    async def lib(kind: str) -> dict:
        errors = {
            "missing": NotFoundError("prediction_id: no prediction 'x'"),
            "conflict": ConflictError("prediction_id: x is already resolved"),
            "config": ConfigError("symbol: 'x' must be 2-20 upper-case letters or digits"),
        }
        raise errors[kind]

    return app


@pytest.fixture
def client(monkeypatch) -> TestClient:
    monkeypatch.setenv("TEST_HTTP_KEY", "s3cret-key")
    return TestClient(_app(), raise_server_exceptions=False)


def test_auth_missing_wrong_and_right_key(client):
    r = client.post("/write")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.json()["errors"][0]["field"] == "Authorization"
    r = client.post("/write", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 403 and "s3cret" not in r.text
    assert client.post("/write", headers={"Authorization": "Basic s3cret-key"}).status_code == 401
    ok = client.post("/write", headers={"Authorization": "Bearer s3cret-key"})
    assert ok.status_code == 200


def test_without_a_key_writes_fail_closed_unless_opened_on_purpose(monkeypatch):
    monkeypatch.delenv("TEST_HTTP_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"api_key_env: \$TEST_HTTP_KEY is empty"):
        _app()
    open_client = TestClient(_app(open_writes=True))
    assert open_client.post("/write").status_code == 200
    assert ApiKeyAuth("TEST_HTTP_KEY", allow_open_writes=True).writes == "open"
    monkeypatch.setenv("TEST_HTTP_KEY", "s3cret-key")
    assert ApiKeyAuth("TEST_HTTP_KEY").writes == "keyed"


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ('{"x": 1, "y": 2}', "y", "Extra inputs are not permitted"),
        ('{"x": "a"}', "x", "valid number"),
        ('{"x": NaN}', "x", "finite"),
        ('{"x": Infinity}', "x", "finite"),
        ("{}", "x", "Field required"),
    ],
)
def test_validation_errors_name_field_and_reason(client, payload, field, reason):
    r = client.post("/item", content=payload, headers={"content-type": "application/json"})
    assert r.status_code == 422
    err = r.json()["errors"][0]
    assert err["field"] == field and reason in err["reason"]
    assert r.json()["detail"].startswith(f"{field}: ")


def test_body_limit_declared_and_streamed(client):
    big = '{"x": 1' + " " * 5000 + "}"
    r = client.post("/item", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "2048 bytes" in r.json()["detail"]

    def chunks():  # no content-length: counted as it arrives
        yield b'{"x": 1'
        for _ in range(10):
            yield b" " * 500
        yield b"}"

    r = client.post("/item", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_unexpected_errors_are_500_without_internals(client):
    r = client.get("/boom")
    assert r.status_code == 500
    assert "secret internals" not in r.text and "error id" in r.json()["detail"]


@pytest.mark.parametrize(
    ("kind", "status", "field"),
    [
        ("missing", 404, "prediction_id"),
        ("conflict", 409, "prediction_id"),
        ("config", 422, "symbol"),
    ],
)
def test_library_errors_map_to_statuses(client, kind, status, field):
    r = client.get(f"/lib/{kind}")
    assert r.status_code == status and r.json()["errors"][0]["field"] == field


def test_library_error_fields():
    err = library_error(DataValidationError("price must be > 0", row=3, column="low"), "candles")
    assert (err.status, err.field, err.reason) == (422, "candles[3].low", "price must be > 0")
    err = library_error(DataValidationError("bad", row=0, column="high"), "features")
    assert err.field == "features.high"
    err = library_error(InsufficientDataError(229, 10, "regime window"))
    assert err.status == 422 and "229" in err.reason
    assert isinstance(err, ApiError)


def test_a_trailing_slash_is_not_found_rather_than_redirected() -> None:
    """The fuzz test drew the symbol '0/': FastAPI's default answered 307 to another URL."""
    from deployments.ingress import app

    client = TestClient(app)
    r = client.get("/v1/performance/0/", follow_redirects=False)
    assert r.status_code == 404
    r = client.post("/v1/predict/", json={}, follow_redirects=False)
    assert r.status_code == 404
