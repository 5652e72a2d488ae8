"""Signed manifests: a version whose weights and manifest were both replaced is refused."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
import torch

from models.errors import CorruptModelError
from models.registry import ModelRegistry
from models.registry.signing import SIGNATURE, SIGNING_KEY_ENV
from tests.registry.test_registry import _publish

KEY = b"registry-signing-key-for-tests"


def _replace_weights_and_manifest(vdir: Path) -> None:
    """What an attacker with write access to the bucket does: new weights, and a manifest
    whose sha256 matches them (so the plain integrity check passes)."""
    buffer = io.BytesIO()
    torch.save({"layer.weight": torch.ones(3, 4), "layer.bias": torch.ones(3)}, buffer)
    (vdir / "weights.pt").write_bytes(buffer.getvalue())
    manifest = json.loads((vdir / "manifest.json").read_text())
    manifest["files"]["weights.pt"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    (vdir / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, indent=2))


def test_a_signed_version_loads_and_a_replaced_one_is_refused(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path, signing_key=KEY)
    version, state = _publish(reg)
    vdir = tmp_path / "BTCUSDT" / "cnn_lstm" / version
    assert (vdir / SIGNATURE).is_file() and reg.signed
    loaded = reg.load("BTCUSDT", "cnn_lstm").state_dict
    assert torch.equal(loaded["layer.bias"], state["layer.bias"])
    _replace_weights_and_manifest(vdir)
    assert ModelRegistry(tmp_path, signing_key=None).load("BTCUSDT", "cnn_lstm")  # unsigned: passes
    with pytest.raises(CorruptModelError, match="signature does not match"):
        reg.load("BTCUSDT", "cnn_lstm")
    with pytest.raises(CorruptModelError, match="signature does not match"):
        ModelRegistry(tmp_path, signing_key=b"another key").load("BTCUSDT", "cnn_lstm", version)


def test_with_a_key_unsigned_versions_do_not_load(tmp_path: Path) -> None:
    version, _ = _publish(ModelRegistry(tmp_path, signing_key=None))
    assert not (tmp_path / "BTCUSDT" / "cnn_lstm" / version / SIGNATURE).exists()
    with pytest.raises(CorruptModelError, match=f"not signed; \\${SIGNING_KEY_ENV} is set"):
        ModelRegistry(tmp_path, signing_key=KEY).load("BTCUSDT", "cnn_lstm")


def test_the_key_comes_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY.decode())
    reg = ModelRegistry(tmp_path)
    assert reg.signed
    version, _ = _publish(reg)
    monkeypatch.delenv(SIGNING_KEY_ENV)
    assert not ModelRegistry(tmp_path).signed
    assert ModelRegistry(tmp_path, signing_key=KEY).load("BTCUSDT", "cnn_lstm").version == version
