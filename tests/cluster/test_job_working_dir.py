"""What scripts/submit_training.py ships to the cluster: the whole project, not local outputs.

The Jobs API packs ``runtime_env.working_dir`` minus ``excludes`` (gitignore syntax, matched
by Ray's own packaging code used here) and every node imports the project from that copy,
so an exclude that also hits a package (a bare ``data`` matches ``models/data``) makes the
job fail on the cluster with an ImportError that no local run shows.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ray._private.runtime_env.packaging import _get_excludes

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("models", "deployments", "scripts", "configs")


@pytest.fixture(scope="module")
def is_excluded():
    spec = importlib.util.spec_from_file_location("submit_job", ROOT / "scripts/submit_training.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = module.parse_args(["--storage", "s3://b/tune", "--registry", "s3://b/registry"])
    runtime_env = module.build_submission(args)["runtime_env"]
    working_dir = Path(runtime_env["working_dir"])
    assert working_dir == ROOT
    return _get_excludes(working_dir, runtime_env["excludes"])


def test_every_project_file_is_shipped(is_excluded) -> None:
    files = [p for d in SHIPPED for p in (ROOT / d).rglob("*") if p.is_file()]
    files = [p for p in files if "__pycache__" not in p.parts]
    assert any(p.parent.name == "data" for p in files)  # models/data is among them
    dropped = [str(p.relative_to(ROOT)) for p in files if is_excluded(p)]
    assert dropped == []


@pytest.mark.parametrize(
    "output", ["data/BTCUSDT-1h.csv.gz", "registry/BTCUSDT", "state/s.db", "ray_results/x"]
)
def test_local_outputs_stay_home(is_excluded, output: str) -> None:
    assert is_excluded(ROOT / output)
