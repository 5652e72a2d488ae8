"""Submit ``scripts/train.py`` to a Ray cluster through the Ray Jobs API.

The working directory (this project) travels as the job's runtime environment, so the
cluster runs exactly the code you have here; Tune results and the registry go to shared
(cloud) storage that every node can reach. Prints the job id, then follows the job's logs
until it ends (``--no-wait`` returns at once).

    python scripts/submit_training.py --address http://127.0.0.1:8265 \\
        --storage s3://bucket/tune --registry s3://bucket/registry \\
        --gpus 1 -- --symbols BTCUSDT ETHUSDT --num-samples 8 --gpus-per-trial 0.5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from models.cli import UsageError, run_cli

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# gitignore syntax: a bare "data" would also drop the models/data and models/registry packages,
# so the top-level output folders are anchored with a leading "/".
EXCLUDES = [".git", "**/__pycache__", "/registry", "/ray_results", "/state", "/data", "docs/*.png"]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--address",
        default=os.environ.get("RAY_ADDRESS", "http://127.0.0.1:8265"),
        help="Ray dashboard / Jobs API address (default: $RAY_ADDRESS or http://127.0.0.1:8265)",
    )
    parser.add_argument(
        "--storage",
        required=True,
        help="Tune storage (s3://..., gs://... or a path every node sees)",
    )
    parser.add_argument("--registry", required=True, help="model registry URI every node sees")
    parser.add_argument(
        "--data", default=None, help="data path as seen by the cluster (default: train.py's)"
    )
    parser.add_argument("--cpus", type=float, default=1.0, help="CPUs reserved for the driver")
    parser.add_argument("--gpus", type=float, default=0.0, help="GPUs reserved for the driver")
    parser.add_argument("--submission-id", default=None, help="job id to use (default: generated)")
    parser.add_argument("--no-wait", action="store_true", help="print the job id and return")
    parser.add_argument(
        "train_args", nargs=argparse.REMAINDER, help="after --: options for train.py"
    )
    args = parser.parse_args(argv)
    if args.cpus < 0 or args.gpus < 0:
        raise UsageError("--cpus and --gpus must be >= 0")
    return args


def build_submission(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of ``JobSubmissionClient.submit_job`` for these options."""
    train_args = [a for a in args.train_args if a != "--"]
    command = ["python", "scripts/train.py", "--storage", args.storage, "--registry", args.registry]
    if args.data:
        command += ["--data", args.data]
    command += train_args
    submission: dict[str, Any] = {
        "entrypoint": shlex.join(command),
        "runtime_env": {
            "working_dir": str(PROJECT_ROOT),
            "excludes": EXCLUDES,
            "env_vars": {"PYTHONPATH": "."},
        },
        "entrypoint_num_cpus": args.cpus,
        "metadata": {"project": "smartmarket", "kind": "training"},
    }
    if args.gpus:
        submission["entrypoint_num_gpus"] = args.gpus
    if args.submission_id:
        submission["submission_id"] = args.submission_id
    return submission


async def follow_logs(client: Any, job_id: str) -> None:
    async for lines in client.tail_job_logs(job_id):
        print(lines, end="", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from ray.job_submission import JobStatus, JobSubmissionClient

    try:
        client = JobSubmissionClient(args.address)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UsageError(f"cannot reach the Ray Jobs API at {args.address}: {exc}") from None
    job_id = client.submit_job(**build_submission(args))
    print(f"submitted job {job_id} to {args.address}", flush=True)
    if args.no_wait:
        print(f"follow it with: ray job logs --address {args.address} --follow {job_id}")
        return 0
    asyncio.run(follow_logs(client, job_id))
    status = client.get_job_status(job_id)
    print(f"job {job_id} finished: {status}")
    return 0 if status == JobStatus.SUCCEEDED else 1


if __name__ == "__main__":
    sys.exit(run_cli(main))
