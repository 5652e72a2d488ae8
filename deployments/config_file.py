"""Reading a Serve config YAML (the ``serve run`` / ``serve deploy`` format) for the
scripts that start the app themselves (``scripts/serve.py``, ``scripts/bench_serve.py``).

Only what this application uses is taken: HTTP host and port, the application's ``args``
(:class:`AppSettings`) and, per deployment name, its options (replicas, CPUs, user_config).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.errors import ConfigError
from models.yaml_file import read_mapping

IMPORT_PATH = "deployments.app:build_app"


@dataclass(frozen=True)
class ServeConfig:
    """The parts of a Serve config file the scripts apply."""

    args: dict[str, Any] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Role (see ``deployments.app.DEPLOYMENTS``) -> ``Deployment.options`` keywords."""
    host: str = "127.0.0.1"
    port: int = 8000


def _application(data: dict[str, Any], path: Path) -> dict[str, Any]:
    apps = [a for a in data.get("applications") or [] if a.get("import_path") == IMPORT_PATH]
    if len(apps) != 1:
        raise ConfigError(
            f"config {path}: applications: need exactly one with import_path {IMPORT_PATH}"
        )
    app: dict[str, Any] = apps[0]
    return app


def role_by_name() -> dict[str, str]:
    """Deployment name -> role. The app is imported here, not with this module: a script
    reads its config (and says what is wrong with its options) without loading Ray Serve
    and every model library first."""
    from deployments.app import DEPLOYMENTS

    return {deployment.name: role for role, deployment in DEPLOYMENTS.items()}


def _options(app: dict[str, Any], path: Path) -> dict[str, dict[str, Any]]:
    options: dict[str, dict[str, Any]] = {}
    roles = role_by_name()
    for entry in app.get("deployments") or []:
        entry = dict(entry)
        name = entry.pop("name", None)
        if name not in roles:
            known = ", ".join(sorted(roles))
            raise ConfigError(f"config {path}: deployments: unknown name {name!r}; known: {known}")
        options[roles[name]] = entry
    return options


def load_serve_config(path: str | Path) -> ServeConfig:
    """Parse ``path``; a missing file or a wrong shape is a :class:`ConfigError`."""
    path = Path(path)
    data = read_mapping(path, "config", allow_empty=False)
    app = _application(data, path)
    http = data.get("http_options") or {}
    return ServeConfig(
        args=dict(app.get("args") or {}),
        options=_options(app, path),
        host=str(http.get("host", "127.0.0.1")),
        port=int(http.get("port", 8000)),
    )
