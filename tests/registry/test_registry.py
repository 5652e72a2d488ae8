"""Model registry: round trip, versions and LATEST, atomic publish, corruption, traversal."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from models.errors import ConfigError, CorruptModelError, ModelNotFoundError
from models.registry import ModelRegistry
from models.registry.names import new_version
from models.registry.store import Store

WINDOW = {"train": {"start": "2022-01-01T00:00:00Z"}, "data_hash": "ab" * 32}


def _publish(reg: ModelRegistry, symbol: str = "BTCUSDT", model: str = "cnn_lstm", seed: int = 0):
    torch.manual_seed(seed)
    state = {"layer.weight": torch.randn(3, 4), "layer.bias": torch.zeros(3)}
    config = {"model": model, "seq_len": 16, "scaler": {"mean": [0.5], "std": [2.0]}}
    metrics = {"val": {"accuracy": 0.4, "log_loss": float("nan")}, "test": {}}
    version = reg.publish(
        symbol, model, state_dict=state, config=config, metrics=metrics, data_window=WINDOW
    )
    return version, state


def test_round_trip_and_manifest(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path)
    version, state = _publish(reg)
    art = reg.load("BTCUSDT", "cnn_lstm")
    assert art.version == version == reg.latest("BTCUSDT", "cnn_lstm")
    assert all(torch.equal(art.state_dict[k], state[k]) for k in state)
    assert art.config["scaler"] == {"mean": [0.5], "std": [2.0]}
    assert art.metrics["val"]["log_loss"] is None  # NaN stored as null: strict JSON
    manifest = art.manifest
    assert manifest["data_window"] == WINDOW and manifest["version"] == version
    assert set(manifest["files"]) == {"weights.pt", "config.json", "metrics.json"}
    assert manifest["libraries"]["torch"] and manifest["python"] and manifest["created_at"]
    assert manifest["code"]["package_version"]
    assert (tmp_path / "BTCUSDT" / "cnn_lstm" / "LATEST").read_text() == version


def test_versions_sorted_latest_and_listing(tmp_path: Path) -> None:
    reg = ModelRegistry(f"file://{tmp_path}")
    first, _ = _publish(reg, seed=0)
    second, _ = _publish(reg, seed=1)
    _publish(reg, symbol="ETHUSDT", model="transformer")
    assert reg.versions("BTCUSDT", "cnn_lstm") == [first, second] and first < second
    assert reg.load("BTCUSDT", "cnn_lstm").version == second
    assert reg.load("BTCUSDT", "cnn_lstm", first).version == first
    listing = reg.list_models()
    assert listing["BTCUSDT"] == {"cnn_lstm": [first, second]}
    assert list(listing["ETHUSDT"]) == ["transformer"]
    assert new_version("0" * 8, after="v20991231T235959Z-ffffffff") == "v21000101T000000Z-00000000"


def test_missing_is_model_not_found(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path)
    with pytest.raises(ModelNotFoundError, match=r"'cnn_lstm'.*'BTCUSDT'"):
        reg.load("BTCUSDT", "cnn_lstm")
    _publish(reg)
    with pytest.raises(ModelNotFoundError, match="v20000101T000000Z-00000000"):
        reg.load("BTCUSDT", "cnn_lstm", "v20000101T000000Z-00000000")
    assert reg.list_models() == {"BTCUSDT": {"cnn_lstm": reg.versions("BTCUSDT", "cnn_lstm")}}


@pytest.mark.parametrize(
    ("symbol", "model", "version", "field"),
    [
        ("../BTCUSDT", "cnn_lstm", "latest", "symbol"),
        ("btcusdt", "cnn_lstm", "latest", "symbol"),
        ("BTCUSDT", "../../etc", "latest", "model"),
        ("BTCUSDT", "cnn/lstm", "latest", "model"),
        ("BTCUSDT", "cnn_lstm", "../v20260101T000000Z-0123abcd", "version"),
        ("BTCUSDT", "cnn_lstm", "", "version"),
    ],
)
def test_path_traversal_rejected(tmp_path: Path, symbol, model, version, field) -> None:
    reg = ModelRegistry(tmp_path)
    with pytest.raises(ConfigError, match=field):
        reg.load(symbol, model, version)
    if field != "version":
        with pytest.raises(ConfigError, match=field):
            reg.publish(symbol, model, state_dict={}, config={}, metrics={}, data_window={})


def _version_dir(tmp_path: Path, version: str) -> Path:
    return tmp_path / "BTCUSDT" / "cnn_lstm" / version


def test_tampered_weights_missing_file_and_bad_json(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path)
    version, _ = _publish(reg)
    vdir = _version_dir(tmp_path, version)
    weights = (vdir / "weights.pt").read_bytes()
    (vdir / "weights.pt").write_bytes(weights[:-1] + bytes([weights[-1] ^ 1]))
    with pytest.raises(CorruptModelError, match=r"weights\.pt.*sha256"):
        reg.load("BTCUSDT", "cnn_lstm")
    (vdir / "weights.pt").write_bytes(weights)
    (vdir / "metrics.json").unlink()
    with pytest.raises(CorruptModelError, match=r"metrics\.json.*missing"):
        reg.load("BTCUSDT", "cnn_lstm")
    # Bad JSON whose hash is recorded: the parse error, not the hash check, must name it.
    manifest = json.loads((vdir / "manifest.json").read_text())
    (vdir / "metrics.json").write_bytes(b"{not json")
    manifest["files"]["metrics.json"] = hashlib.sha256(b"{not json").hexdigest()
    (vdir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CorruptModelError, match=r"metrics\.json.*invalid JSON"):
        reg.load("BTCUSDT", "cnn_lstm")
    (vdir / "manifest.json").write_text("[1, 2")
    with pytest.raises(CorruptModelError, match=r"manifest\.json"):
        reg.load("BTCUSDT", "cnn_lstm")
    (tmp_path / "BTCUSDT" / "cnn_lstm" / "LATEST").write_text("../../x")
    with pytest.raises(CorruptModelError, match="LATEST"):
        reg.load("BTCUSDT", "cnn_lstm")


class _Crash(Exception):
    pass


def _crash_on(monkeypatch: pytest.MonkeyPatch, name: str, cleanup: bool = True) -> None:
    real = Store.write_bytes

    def write(self: Store, path: str, data: bytes) -> None:
        if path.endswith(name):
            raise _Crash(path)
        real(self, path, data)

    monkeypatch.setattr(Store, "write_bytes", write)
    if not cleanup:  # a killed process never runs its clean-up
        monkeypatch.setattr(Store, "delete_dir", lambda self, path: None)


@pytest.mark.parametrize("local", [True, False], ids=["rename", "object-store"])
@pytest.mark.parametrize("crash_file", ["config.json", "manifest.json"])
def test_crash_mid_publish_leaves_nothing_visible(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local: bool, crash_file: str
) -> None:
    reg = ModelRegistry(tmp_path)
    reg.store.is_local = local  # the object-store path, exercised on the local disk
    good, _ = _publish(reg)
    with monkeypatch.context() as patch:
        _crash_on(patch, crash_file, cleanup=False)
        with pytest.raises(_Crash):
            _publish(reg, seed=5)
    assert reg.versions("BTCUSDT", "cnn_lstm") == [good]
    assert reg.latest("BTCUSDT", "cnn_lstm") == good
    assert reg.load("BTCUSDT", "cnn_lstm").version == good
    assert reg.list_models() == {"BTCUSDT": {"cnn_lstm": [good]}}
    leftovers = {p.name for p in (tmp_path / "BTCUSDT" / "cnn_lstm").iterdir()} - {good, "LATEST"}
    assert leftovers  # the crash really left a partial directory behind
    assert all(name.startswith(".tmp-") for name in leftovers) == local
    after, _ = _publish(reg, seed=6)  # the registry keeps working after the crash
    assert reg.versions("BTCUSDT", "cnn_lstm") == [good, after]


def test_failed_local_publish_cleans_its_temp_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = ModelRegistry(tmp_path)
    _crash_on(monkeypatch, "metrics.json")
    with pytest.raises(_Crash):
        _publish(reg)
    assert [p.name for p in (tmp_path / "BTCUSDT" / "cnn_lstm").iterdir()] == []
