"""Tune on a three-node cluster: GPU trials land on the GPU node only, CPU trials elsewhere.

A head and two workers on this machine (``ray.cluster_utils.Cluster``, one per scenario, in a
child process: see :mod:`tests.cluster.harness`); the second worker declares ``num_gpus=1``
although there is no CUDA here. The trials are the project's real trainable
(``models.training.tune_trial.train_trial``, unchanged) on the last few hundred BTCUSDT hours
with the smallest network, two of them asking for half a GPU each and two for a whole CPU,
so all four fit at once only when spread over the three nodes. The node of each trial comes
from its reported ``pid`` and the cluster's actor table. Without CUDA a GPU trial must train on
CPU and say so (``on_gpu`` 0 in its metrics and a warning in its log); on a machine with
CUDA the same trials must train on the GPU instead.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.harness import actor_nodes, local_cluster, run_scenario, scenario_main

pytestmark = [pytest.mark.slow, pytest.mark.ray]

GPU_TRIAL = {"cpu": 0.5, "gpu": 0.5}
CPU_TRIAL = {"cpu": 1.0, "gpu": 0.0}


def trial_resources(config: dict[str, Any]) -> Any:
    from ray import tune

    gpus = float(config["setup"]["gpus"])
    bundle = GPU_TRIAL if gpus > 0 else CPU_TRIAL
    return tune.PlacementGroupFactory([{"CPU": bundle["cpu"], "GPU": bundle["gpu"]}])


def scenario(data_dir: str, storage: str) -> dict[str, Any]:
    import torch
    from ray import tune

    from models.training.tune_space import search_space
    from models.training.tune_trial import TrialSetup, train_trial

    def setup(gpus: float) -> dict[str, Any]:
        return TrialSetup(
            data_path=data_dir,
            symbol="BTCUSDT",
            model="cnn_lstm",
            max_rows=900,
            max_epochs=2,
            patience=2,
            batch_size=64,
            max_batches_per_epoch=2,
            gpus=gpus,
        ).to_dict()

    space = {**search_space("cnn_lstm", small=True), "width": 16, "depth": 1, "seq_len": 16}
    space["setup"] = tune.grid_search([setup(0.5), setup(0.5), setup(0.0), setup(0.0)])
    with local_cluster({"num_cpus": 1}, [{"num_cpus": 1}, {"num_cpus": 1, "num_gpus": 1}]) as (
        _,
        (cpu_worker, gpu_worker),
    ):
        tuner = tune.Tuner(
            tune.with_resources(train_trial, trial_resources),
            param_space=space,
            tune_config=tune.TuneConfig(metric="val_loss", mode="min"),
            run_config=tune.RunConfig(name="gpu-nodes", storage_path=storage, verbose=0),
        )
        grid = tuner.fit()
        where = actor_nodes()
        trials = []
        for result in grid:
            pids = sorted({int(pid) for pid in result.metrics_dataframe["pid"]})
            trials.append(
                {
                    "gpus": result.config["setup"]["gpus"],
                    "pids": pids,
                    "nodes": sorted({where.get(pid) for pid in pids}),
                    "on_gpu": result.metrics["on_gpu"],
                    "val_loss": result.metrics["val_loss"],
                    "error": repr(result.error) if result.error else None,
                }
            )
        return {
            "cuda": torch.cuda.is_available(),
            "gpu_node": gpu_worker.node_id,
            "cpu_node": cpu_worker.node_id,
            "trials": trials,
        }


@pytest.fixture(scope="module")
def run(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    storage = tmp_path_factory.mktemp("tune")
    return run_scenario(__file__, timeout=300, data_dir=str(real_data_dir), storage=str(storage))


def test_every_trial_finishes_with_a_finite_loss(run) -> None:
    trials = run.result["trials"]
    assert len(trials) == 4
    assert [t["error"] for t in trials] == [None] * 4
    assert all(math.isfinite(t["val_loss"]) for t in trials)


def test_gpu_trials_run_only_on_the_gpu_node(run) -> None:
    gpu_trials = [t for t in run.result["trials"] if t["gpus"] > 0]
    assert len(gpu_trials) == 2
    assert all(t["nodes"] == [run.result["gpu_node"]] for t in gpu_trials)


def test_cpu_trials_stay_off_the_gpu_node_and_trials_spread(run) -> None:
    trials = run.result["trials"]
    cpu_nodes = {n for t in trials if t["gpus"] == 0 for n in t["nodes"]}
    assert run.result["gpu_node"] not in cpu_nodes
    assert None not in cpu_nodes
    assert len({n for t in trials for n in t["nodes"]}) == 3


def test_gpu_trials_use_cuda_or_fall_back_to_cpu_and_say_so(run) -> None:
    notice = "GPU but none is visible: training on CPU"
    cuda = run.result["cuda"]  # False here; a CUDA machine runs the GPU trials on its GPU
    for trial in run.result["trials"]:
        wants_gpu = trial["gpus"] > 0
        logs = "".join(run.worker_logs.get(pid, "") for pid in trial["pids"])
        assert trial["on_gpu"] == int(wants_gpu and cuda), trial
        assert (notice in logs) == (wants_gpu and not cuda), trial


if __name__ == "__main__":
    scenario_main(scenario)
