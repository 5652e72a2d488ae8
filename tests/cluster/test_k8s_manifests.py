"""KubeRay manifests in k8s/: they parse, and they agree with the code they deploy.

No Kubernetes here, so what can drift is checked against the project itself: the
RayService's ``serveConfigV2`` passes Ray Serve's schema and carries exactly the deployments
of configs/serve_production.yaml; both runtime_envs are valid for Ray and install what
pyproject.toml lists; the RayJob's commands are accepted by the scripts' own argument
parsers and TuneOptions, and publish to the registry the service reads; images, Ray
version, GPU requests and volumes line up across the groups.
"""

from __future__ import annotations

import importlib.util
import shlex
from pathlib import Path
from typing import Any

import pytest
import ray
import yaml
from ray.runtime_env import RuntimeEnv

from tests.cluster.serve_schema import validate_serve_config

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
IMAGE = f"rayproject/ray:{ray.__version__}-py311"
RUNTIME_ENV_KEYS = {"working_dir", "pip", "env_vars", "py_modules", "excludes", "config"}


def load_one(name: str) -> dict[str, Any]:
    (doc,) = list(yaml.safe_load_all((K8S / name).read_text()))
    return doc


def load_script(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"k8s_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def service() -> dict[str, Any]:
    return load_one("rayservice.yaml")


@pytest.fixture(scope="module")
def job() -> dict[str, Any]:
    return load_one("rayjob-train.yaml")


@pytest.fixture(scope="module")
def serve_config(service: dict[str, Any]) -> dict[str, Any]:
    return yaml.safe_load(service["spec"]["serveConfigV2"])


@pytest.fixture(scope="module")
def commands(job: dict[str, Any]) -> dict[str, list[str]]:
    """``script name -> argv`` of each ``&&``-joined command of the RayJob entrypoint."""
    out = {}
    for part in job["spec"]["entrypoint"].split("&&"):
        argv = shlex.split(part)
        assert argv[0] == "python" and argv[1].startswith("scripts/"), argv
        out[Path(argv[1]).stem] = argv[2:]
    return out


def pyproject_dependencies() -> list[str]:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [d for d in project["dependencies"] if not d.startswith("ray")]


def check_runtime_env(env: dict[str, Any]) -> None:
    assert set(env) <= RUNTIME_ENV_KEYS, set(env) - RUNTIME_ENV_KEYS
    RuntimeEnv(**env)
    assert env["working_dir"].startswith("https://") and env["working_dir"].endswith(".zip")
    assert env["pip"] == pyproject_dependencies()


def test_manifests_parse_with_the_expected_kinds() -> None:
    kinds = {}
    for name in ("rayservice.yaml", "rayjob-train.yaml", "storage.yaml"):
        kinds[name] = [doc["kind"] for doc in yaml.safe_load_all((K8S / name).read_text())]
    assert kinds["rayservice.yaml"] == ["RayService"]
    assert kinds["rayjob-train.yaml"] == ["RayJob"]
    assert sorted(kinds["storage.yaml"]) == [
        "PersistentVolumeClaim",
        "PersistentVolumeClaim",
        "ServiceAccount",
    ]


def test_the_control_plane_is_locked_and_the_keys_are_required(
    service: dict[str, Any], job: dict[str, Any]
) -> None:
    """Token auth on both clusters; the API and registry keys are required Secrets; only
    the Serve port is open to the world (issue 19)."""
    clusters = (service["spec"]["rayClusterConfig"], job["spec"]["rayClusterSpec"])
    for cluster in clusters:
        assert cluster["authOptions"] == {"mode": "token"}
    refs = []
    for cluster in clusters:
        for group in groups(cluster):
            for container in containers(group):
                for env in container.get("env", []):
                    if "valueFrom" in env:
                        refs.append((env["name"], env["valueFrom"]["secretKeyRef"]))
    assert refs and all(ref.get("optional", False) is False for _, ref in refs)
    assert {"SMARTMARKET_API_KEY", "SMARTMARKET_REGISTRY_KEY"} == {name for name, _ in refs}
    (policy,) = list(yaml.safe_load_all((K8S / "network-policy.yaml").read_text()))
    assert policy["kind"] == "NetworkPolicy" and policy["spec"]["policyTypes"] == ["Ingress"]
    from_anywhere = [rule for rule in policy["spec"]["ingress"] if "from" not in rule]
    assert [rule["ports"] for rule in from_anywhere] == [[{"protocol": "TCP", "port": 8000}]]


def test_serve_config_passes_ray_serve_schema(serve_config: dict[str, Any]) -> None:
    schema = validate_serve_config(serve_config)
    assert schema.http_options.host == "0.0.0.0"


def test_serve_config_is_the_production_config_plus_a_runtime_env(
    serve_config: dict[str, Any],
) -> None:
    production = yaml.safe_load((ROOT / "configs" / "serve_production.yaml").read_text())
    embedded = {**serve_config, "applications": [dict(a) for a in serve_config["applications"]]}
    runtime_env = embedded["applications"][0].pop("runtime_env")
    assert embedded == production
    check_runtime_env(runtime_env)


def test_job_runtime_env_is_valid(job: dict[str, Any]) -> None:
    env = yaml.safe_load(job["spec"]["runtimeEnvYAML"])
    check_runtime_env(env)
    assert env["env_vars"]["PYTHONPATH"] == "."


def test_job_train_options_are_accepted_by_train_py(
    commands: dict[str, list[str]], serve_config: dict[str, Any]
) -> None:
    train = load_script("train")
    args = train.build_parser().parse_args(commands["train"])
    from models.training.tune import TuneOptions

    TuneOptions(
        storage=args.storage,
        name=args.name,
        num_samples=args.num_samples,
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
        max_failures=args.max_failures,
    )
    assert args.storage.startswith("s3://") and args.registry.startswith("s3://")
    assert args.registry == serve_config["applications"][0]["args"]["registry"]
    assert args.resume and args.max_failures >= 1 and 0 < args.gpus_per_trial <= 1


def test_job_downloads_the_data_train_py_reads(commands: dict[str, list[str]]) -> None:
    download = load_script("download_data")
    fetched = download.parse_args(commands["download_data"])
    train_args = load_script("train").build_parser().parse_args(commands["train"])
    assert fetched.out == train_args.data
    assert set(fetched.symbols) == set(train_args.symbols)


def test_job_data_volume_is_mounted_on_every_group(
    job: dict[str, Any], commands: dict[str, list[str]]
) -> None:
    data = load_script("train").build_parser().parse_args(commands["train"]).data
    for group in groups(job["spec"]["rayClusterSpec"]):
        mounts = [m["mountPath"] for c in containers(group) for m in c.get("volumeMounts", [])]
        assert any(data.is_relative_to(m) for m in mounts), group.get("groupName", "head")


def groups(cluster: dict[str, Any]) -> list[dict[str, Any]]:
    return [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]


def containers(group: dict[str, Any]) -> list[dict[str, Any]]:
    return group["template"]["spec"]["containers"]


@pytest.mark.parametrize("which", ["service", "job"])
def test_clusters_autoscale_cpu_and_gpu_groups_on_ray_images(which: str, request) -> None:
    manifest = request.getfixturevalue(which)
    spec = manifest["spec"]
    cluster = spec["rayClusterConfig"] if which == "service" else spec["rayClusterSpec"]
    assert cluster["rayVersion"] == ray.__version__
    assert cluster["enableInTreeAutoscaling"] is True
    by_name = {g["groupName"]: g for g in cluster["workerGroupSpecs"]}
    assert set(by_name) == {"cpu", "gpu"}
    for group in by_name.values():
        assert 0 <= group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
    assert by_name["gpu"]["minReplicas"] == 0 and by_name["gpu"]["maxReplicas"] >= 1
    for group in groups(cluster):
        gpu = group is by_name["gpu"]
        for container in containers(group):
            assert container["image"] == (f"{IMAGE}-gpu" if gpu else IMAGE)
            limit = container["resources"]["limits"].get("nvidia.com/gpu")
            assert limit == (group["rayStartParams"]["num-gpus"] if gpu else None)


def test_state_volume_holds_the_state_db_on_the_head(
    service: dict[str, Any], serve_config: dict[str, Any]
) -> None:
    state_db = serve_config["applications"][0]["args"]["state_db"]
    path = Path(state_db.replace("~", "/home/ray", 1))  # the image's user is "ray"
    head = service["spec"]["rayClusterConfig"]["headGroupSpec"]
    mounts = [m["mountPath"] for c in containers(head) for m in c.get("volumeMounts", [])]
    assert str(path.parent) in mounts
