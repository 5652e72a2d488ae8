"""Versioned model artifacts on a local disk or an object store.

Layout: ``<root>/<SYMBOL>/<model>/<version>/{weights.pt, config.json, metrics.json,
manifest.json}`` and ``<root>/<SYMBOL>/<model>/LATEST`` (the newest published version id).

Publishing never exposes half a version. Locally the files are written into a hidden
temporary directory that is renamed into place in one step, then ``LATEST`` is replaced
atomically. On object stores (no directory rename) the manifest is written last and only a
directory with a manifest counts as a version; ``LATEST`` is written after it. A crash at any
point leaves the previous ``LATEST`` and the previous versions as they were.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.errors import ConflictError, CorruptModelError, ModelNotFoundError
from models.registry.manifest import build_manifest, sha256, to_json_bytes
from models.registry.names import (
    check_model,
    check_symbol,
    check_version,
    is_version,
    new_version,
)
from models.registry.signing import SIGNATURE, sign, signing_key_from_env, verify
from models.registry.store import Store

if TYPE_CHECKING:  # torch is imported where weights are written or read: reading a
    import torch  # registry's listings (every script's start) does not load it

WEIGHTS, CONFIG, METRICS, MANIFEST, LATEST = (
    "weights.pt",
    "config.json",
    "metrics.json",
    "manifest.json",
    "LATEST",
)
RETRAIN = "RETRAIN.json"
"""Per (symbol, model): the scheduler's last retraining attempt (status, error, version)."""


@dataclass(frozen=True)
class ModelArtifact:
    """One loaded, integrity-checked version of a model."""

    symbol: str
    model_name: str
    version: str
    state_dict: dict[str, torch.Tensor]
    config: dict[str, Any]
    metrics: dict[str, Any]
    manifest: dict[str, Any]


_FROM_ENV = b""


class ModelRegistry:
    """Publish and load model versions under ``root`` (a path or an ``s3://`` / ``gs://`` URI).

    ``signing_key`` (default: ``$SMARTMARKET_REGISTRY_KEY``; None: no signatures): versions
    published are signed, and only versions signed with it load (models.registry.signing)."""

    def __init__(self, root: str | Path, signing_key: bytes | None = _FROM_ENV) -> None:
        self.store = Store(root)
        self.root = self.store.uri
        self.signing_key = signing_key_from_env() if signing_key == _FROM_ENV else signing_key

    @property
    def signed(self) -> bool:
        """Whether this registry signs what it publishes and checks what it loads."""
        return self.signing_key is not None

    def publish(
        self,
        symbol: str,
        model_name: str,
        *,
        state_dict: dict[str, torch.Tensor],
        config: dict[str, Any],
        metrics: dict[str, Any],
        data_window: dict[str, Any],
    ) -> str:
        """Store a new version atomically, point ``LATEST`` at it and return its id."""
        model_dir = self.store.path(check_symbol(symbol), check_model(model_name))
        buffer = io.BytesIO()
        import torch

        torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, buffer)
        files = {WEIGHTS: buffer.getvalue(), CONFIG: to_json_bytes(config)}
        files[METRICS] = to_json_bytes(metrics)
        # After every version directory, complete or not: a half-written one (a crash on an
        # object store) must not be given the same id again.
        taken = sorted(n for n in self.store.list_dirs(model_dir) if is_version(n))
        version = new_version(sha256(files[WEIGHTS] + files[CONFIG]), taken[-1] if taken else None)
        identity = {"symbol": symbol, "model": model_name, "version": version}
        manifest = to_json_bytes(build_manifest(files, data_window, identity))
        self.store.make_dirs(model_dir)
        if self.store.is_local:
            self._publish_by_rename(model_dir, version, files, manifest)
        else:
            self._publish_in_place(model_dir, version, files, manifest)
        self.store.write_atomic(f"{model_dir}/{LATEST}", version.encode())
        return version

    def _publish_by_rename(
        self, model_dir: str, version: str, files: dict[str, bytes], manifest: bytes
    ) -> None:
        tmp = self.store.temp_dir(model_dir, version)
        try:
            for name, data in self._with_signature(files, manifest).items():
                self.store.write_bytes(f"{tmp}/{name}", data)
            self.store.write_bytes(f"{tmp}/{MANIFEST}", manifest)
            self.store.rename(tmp, f"{model_dir}/{version}")
        except BaseException:
            if self.store.is_dir(tmp):
                self.store.delete_dir(tmp)
            raise

    def _publish_in_place(
        self, model_dir: str, version: str, files: dict[str, bytes], manifest: bytes
    ) -> None:
        target = f"{model_dir}/{version}"
        self.store.make_dirs(target)
        for name, data in self._with_signature(files, manifest).items():
            self.store.write_bytes(f"{target}/{name}", data)
        self.store.write_bytes(f"{target}/{MANIFEST}", manifest)  # last: completes the version

    def _with_signature(self, files: dict[str, bytes], manifest: bytes) -> dict[str, bytes]:
        """The version's files plus the manifest's signature when this registry signs."""
        if self.signing_key is None:
            return files
        return {**files, SIGNATURE: sign(self.signing_key, manifest)}

    def versions(self, symbol: str, model_name: str) -> list[str]:
        """Complete versions (those with a manifest), oldest first."""
        model_dir = self.store.path(check_symbol(symbol), check_model(model_name))
        names = [n for n in self.store.list_dirs(model_dir) if is_version(n)]
        return [n for n in names if self.store.is_file(f"{model_dir}/{n}/{MANIFEST}")]

    def latest(self, symbol: str, model_name: str) -> str:
        """The version ``LATEST`` points at (the newest complete version if it is missing)."""
        model_dir = self.store.path(check_symbol(symbol), check_model(model_name))
        pointer = f"{model_dir}/{LATEST}"
        if self.store.is_file(pointer):
            version = self.store.read_bytes(pointer).decode(errors="replace").strip()
            try:
                return check_version(version)
            except ValueError:
                raise CorruptModelError(f"{pointer}: not a version id: {version!r}") from None
        versions = self.versions(symbol, model_name)
        if not versions:
            raise ModelNotFoundError(f"no versions of model {model_name!r} for symbol {symbol!r}")
        return versions[-1]

    def list_models(self) -> dict[str, dict[str, list[str]]]:
        """``{symbol: {model: [versions]}}`` of everything with at least one complete version."""
        out: dict[str, dict[str, list[str]]] = {}
        for symbol in self.store.list_dirs(self.store.base):
            if not _valid(check_symbol, symbol):
                continue
            for model_name in self.store.list_dirs(self.store.path(symbol)):
                if _valid(check_model, model_name):
                    versions = self.versions(symbol, model_name)
                    if versions:
                        out.setdefault(symbol, {})[model_name] = versions
        return out

    def load(self, symbol: str, model_name: str, version: str = "latest") -> ModelArtifact:
        """Load and verify one version; ``"latest"`` follows the ``LATEST`` pointer."""
        check_symbol(symbol)
        check_model(model_name)
        version = self.latest(symbol, model_name) if version == "latest" else check_version(version)
        vdir = self.store.path(symbol, model_name, version)
        if not self.store.is_dir(vdir):
            raise ModelNotFoundError(
                f"model {model_name!r} for symbol {symbol!r} has no version {version!r}"
            )
        raw = self._read_file(vdir, MANIFEST)
        if self.signing_key is not None:
            sig_path = f"{vdir}/{SIGNATURE}"
            found = self.store.read_bytes(sig_path) if self.store.is_file(sig_path) else None
            verify(self.signing_key, raw, found, vdir)
        manifest = _parse_json(f"{vdir}/{MANIFEST}", raw)
        files = {name: self._read_checked(vdir, name, manifest) for name in (WEIGHTS, CONFIG)}
        files[METRICS] = self._read_checked(vdir, METRICS, manifest)
        return ModelArtifact(
            symbol=symbol,
            model_name=model_name,
            version=version,
            state_dict=_load_weights(f"{vdir}/{WEIGHTS}", files[WEIGHTS]),
            config=_parse_json(f"{vdir}/{CONFIG}", files[CONFIG]),
            metrics=_parse_json(f"{vdir}/{METRICS}", files[METRICS]),
            manifest=manifest,
        )

    def manifest(self, symbol: str, model_name: str, version: str) -> dict[str, Any]:
        """The manifest of one version (identity, ``created_at``, data window, hashes)."""
        vdir = self.store.path(check_symbol(symbol), check_model(model_name))
        vdir = f"{vdir}/{check_version(version)}"
        if not self.store.is_file(f"{vdir}/{MANIFEST}"):
            raise ModelNotFoundError(
                f"model {model_name!r} for symbol {symbol!r} has no version {version!r}"
            )
        return self._read_json(vdir, MANIFEST)

    def delete_version(self, symbol: str, model_name: str, version: str) -> None:
        """Remove one version; the one ``LATEST`` points at is refused."""
        if version == self.latest(symbol, model_name):
            raise ConflictError(f"version: {version} is LATEST of {symbol}/{model_name}")
        vdir = self.store.path(check_symbol(symbol), check_model(model_name))
        vdir = f"{vdir}/{check_version(version)}"
        if not self.store.is_dir(vdir):
            raise ModelNotFoundError(f"{symbol}/{model_name} has no version {version!r}")
        self.store.delete_dir(vdir)

    def write_retrain_note(self, symbol: str, model_name: str, note: dict[str, Any]) -> None:
        """Record the last retraining attempt of (symbol, model) beside its versions."""
        model_dir = self.store.path(check_symbol(symbol), check_model(model_name))
        self.store.make_dirs(model_dir)
        self.store.write_atomic(f"{model_dir}/{RETRAIN}", to_json_bytes(note))

    def retrain_note(self, symbol: str, model_name: str) -> dict[str, Any] | None:
        """The last retraining attempt recorded for (symbol, model), or None."""
        path = f"{self.store.path(check_symbol(symbol), check_model(model_name))}/{RETRAIN}"
        if not self.store.is_file(path):
            return None
        return _parse_json(path, self.store.read_bytes(path))

    def _read_file(self, vdir: str, name: str) -> bytes:
        path = f"{vdir}/{name}"
        if not self.store.is_file(path):
            raise CorruptModelError(f"{path}: file is missing")
        return self.store.read_bytes(path)

    def _read_json(self, vdir: str, name: str) -> dict[str, Any]:
        return _parse_json(f"{vdir}/{name}", self._read_file(vdir, name))

    def _read_checked(self, vdir: str, name: str, manifest: dict[str, Any]) -> bytes:
        data = self._read_file(vdir, name)
        expected = manifest.get("files", {}).get(name)
        if expected is None:
            raise CorruptModelError(f"{vdir}/{MANIFEST}: no sha256 recorded for {name}")
        if sha256(data) != expected:
            raise CorruptModelError(f"{vdir}/{name}: sha256 does not match the manifest")
        return data


def _valid(check: Callable[[str], str], name: str) -> bool:
    try:
        check(name)
    except ValueError:
        return False
    return True


def _parse_json(path: str, data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptModelError(f"{path}: invalid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise CorruptModelError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


def _load_weights(path: str, data: bytes) -> dict[str, torch.Tensor]:
    import torch

    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad pickle
        raise CorruptModelError(f"{path}: cannot be read as a torch state dict ({exc})") from None
    if not isinstance(state, dict):
        raise CorruptModelError(f"{path}: expected a state dict, got {type(state).__name__}")
    return state
