"""What a manifest records besides file hashes: the code and library versions that built it."""

from __future__ import annotations

import hashlib
import json
import math
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

import models

_REPO_ROOT = Path(__file__).resolve().parents[2]
_LIBRARIES = ("torch", "ray", "numpy", "polars", "pyarrow")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars / arrays to Python, non-finite floats to ``None``."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json_bytes(value: Any) -> bytes:
    """Deterministic, strict JSON (sorted keys, no NaN) of ``value``."""
    return json.dumps(_plain(value), sort_keys=True, indent=2, allow_nan=False).encode()


def git_commit() -> str | None:
    """The checkout's HEAD commit, or ``None`` outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "-C", str(_REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _version_of(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, Any]:
    """Code version (git commit, package version) and interpreter / library versions."""
    return {
        "code": {"git_commit": git_commit(), "package_version": models.__version__},
        "python": platform.python_version(),
        "libraries": {name: _version_of(name) for name in _LIBRARIES},
    }


def build_manifest(
    files: dict[str, bytes], data_window: dict[str, Any], identity: dict[str, str]
) -> dict[str, Any]:
    """The manifest of a version: identity, data window, environment, file hashes."""
    return {
        **identity,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "data_window": data_window,
        **environment(),
        "files": {name: sha256(data) for name, data in sorted(files.items())},
    }
