"""cluster.yaml must pass Ray's own cluster-launcher validation, and say what it promises."""

from __future__ import annotations

import copy
import fnmatch
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

util = pytest.importorskip("ray.autoscaler._private.util")


@pytest.fixture(scope="module")
def config() -> dict:
    return yaml.safe_load((ROOT / "cluster.yaml").read_text())


def validate(cfg: dict) -> dict:
    prepared = util.prepare_config(copy.deepcopy(cfg))
    util.validate_config(prepared)
    return prepared


def test_cluster_yaml_passes_ray_validation(config: dict) -> None:
    prepared = validate(config)
    assert prepared["provider"]["type"] == "aws"
    assert prepared["head_node_type"] in prepared["available_node_types"]


def test_worker_types_autoscale_from_zero_with_declared_resources(config: dict) -> None:
    types = config["available_node_types"]
    gpu = types["gpu_training"]
    cpu = types["cpu_serving"]
    assert gpu["min_workers"] == 0 and cpu["min_workers"] == 0
    assert gpu["resources"]["GPU"] >= 1
    assert "GPU" not in cpu["resources"] and cpu["resources"]["CPU"] >= 1
    assert config["idle_timeout_minutes"] > 0
    assert config["max_workers"] >= gpu["max_workers"] + cpu["max_workers"] - 1


def test_setup_installs_this_project(config: dict) -> None:
    assert "." in config["file_mounts"].values()
    assert any("pip install" in c and "smartmarket" in c for c in config["setup_commands"])


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c["available_node_types"]["head"].__setitem__("bogus", 1),
        lambda c: c.__setitem__("head_node_type", "missing"),
    ],
)
def test_validation_rejects_broken_configs(config: dict, mutate) -> None:
    broken = copy.deepcopy(config)
    mutate(broken)
    with pytest.raises((ValueError, jsonschema.ValidationError)):
        validate(broken)


def _rsync_excludes(pattern: str, relpath: str) -> bool:
    """rsync's rule for a simple ``--exclude``: ``/x`` matches from the transfer root, a
    pattern without ``/`` (or after ``**/``) matches a file or directory name at any depth."""
    parts = relpath.split("/")
    if pattern.startswith("/"):
        return fnmatch.fnmatch(parts[0], pattern[1:])
    name = pattern.removeprefix("**/")
    return any(fnmatch.fnmatch(part, name) for part in parts)


def test_rsync_excludes_keep_every_package_file(config: dict) -> None:
    patterns = config["rsync_exclude"]
    sources = [
        p for d in ("models", "deployments", "scripts", "configs") for p in (ROOT / d).rglob("*")
    ]
    sources = [p.relative_to(ROOT).as_posix() for p in sources if p.is_file()]
    sources = [s for s in sources if "__pycache__" not in s]
    assert any(s.startswith("models/data/") for s in sources)
    dropped = [s for s in sources if any(_rsync_excludes(p, s) for p in patterns)]
    assert dropped == []


@pytest.mark.parametrize("output", ["data/x.csv.gz", "registry/BTCUSDT", "state/s.db", ".git/HEAD"])
def test_rsync_excludes_drop_local_outputs(config: dict, output: str) -> None:
    assert any(_rsync_excludes(p, output) for p in config["rsync_exclude"])


def test_ray_token_auth_is_on_and_the_dashboard_stays_on_the_head(config: dict) -> None:
    """Issue 19: no anonymous job submission, no dashboard beyond the head's loopback."""
    starts = config["head_start_ray_commands"] + config["worker_start_ray_commands"]
    ray_starts = [c for c in starts if "ray start" in c]
    assert ray_starts and all("RAY_AUTH_MODE=token ray start" in c for c in ray_starts)
    head = next(c for c in config["head_start_ray_commands"] if "ray start" in c)
    assert "--dashboard-host=127.0.0.1" in head and "0.0.0.0" not in head
    assert config["file_mounts"]["~/.ray/auth_token"] == "~/.ray/auth_token"
