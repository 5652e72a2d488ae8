"""A worker node dies under a training trial: Tune retries it elsewhere and the run finishes.

Cluster (child process, see :mod:`tests.cluster.harness`): a head with no CPU for trials and
two one-CPU workers, so the single trial runs on a worker and its retry can only go to the
other one. The run is the project's own driver (``models.training.tune.make_tuner``: the real
``train_trial``, ASHA, ``FailureConfig(max_failures)``, checkpoints every epoch) on a few hundred
BTCUSDT hours with the small search space. As soon as the first checkpoint reaches storage,
the node running the trial is removed (raylet and workers killed, as when an instance is
lost). The trial must resume from its checkpoint on the surviving node, not restart, and end.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.harness import (
    FAST_FAILURE_DETECTION,
    actor_nodes,
    local_cluster,
    run_scenario,
    scenario_main,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.ray]

MAX_EPOCHS = 8
TRIAL_ACTORS = ("ImplicitFunc", "train_trial")


def _trial_node(cluster: Any) -> Any:
    """The worker node running an alive trial actor (None while there is none)."""
    import ray

    alive = ray._private.state.actors(actor_state_name="ALIVE").values()
    trial_nodes = {a["Address"]["NodeID"] for a in alive if a["ActorClassName"] in TRIAL_ACTORS}
    return next((n for n in cluster.worker_nodes if n.node_id in trial_nodes), None)


def _remove_trial_node(cluster: Any, experiment: Path, removed: dict[str, Any]) -> None:
    """Wait for a first checkpoint, then remove the node its trial runs on."""
    if not wait_until(lambda: any(experiment.glob("*/checkpoint_*")), timeout=120):
        return
    node = _trial_node(cluster)
    if node is not None:
        removed["node"] = node.node_id
        cluster.remove_node(node, allow_graceful=False)


def scenario(data_dir: str, storage: str) -> dict[str, Any]:
    from models.training.tune import TuneOptions, experiment_path, make_tuner
    from models.training.tune_trial import TrialSetup

    setup = TrialSetup(
        data_path=data_dir,
        symbol="BTCUSDT",
        model="cnn_lstm",
        max_rows=5000,
        max_epochs=MAX_EPOCHS,
        patience=MAX_EPOCHS,
        batch_size=16,
    )
    options = TuneOptions(storage=storage, num_samples=1, max_failures=2, small=True)
    experiment = Path(experiment_path(options, setup))
    workers = [{"num_cpus": 1}, {"num_cpus": 1}]
    with local_cluster({"num_cpus": 0}, workers, FAST_FAILURE_DETECTION) as (cluster, _):
        removed: dict[str, Any] = {}
        killer = threading.Thread(target=_remove_trial_node, args=(cluster, experiment, removed))
        killer.start()
        grid = make_tuner(setup, options).fit()
        killer.join()
        (result,) = list(grid)
        where = actor_nodes()
        rows = result.metrics_dataframe.to_dict("records")
        return {
            "removed_node": removed.get("node"),
            "survivors": [n.node_id for n in cluster.worker_nodes],
            "trial_actor_nodes": _trial_actor_nodes(),
            "reported": [
                {"node": where.get(int(r["pid"])), "epoch": int(r["epoch"])} for r in rows
            ],
            "final_epoch": int(result.metrics["epoch"]),
            "error": repr(result.error) if result.error else None,
        }


def _trial_actor_nodes() -> list[str]:
    """Node of every trial actor the cluster ran, dead or alive, oldest first."""
    import ray

    actors = [
        a for a in ray._private.state.actors().values() if a["ActorClassName"] in TRIAL_ACTORS
    ]
    return [a["Address"]["NodeID"] for a in sorted(actors, key=lambda a: a["StartTime"])]


@pytest.fixture(scope="module")
def run(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    storage = tmp_path_factory.mktemp("tune")
    return run_scenario(__file__, timeout=300, data_dir=str(real_data_dir), storage=str(storage))


def test_a_node_running_the_trial_was_removed(run) -> None:
    removed = run.result["removed_node"]
    assert removed is not None, run.output[-3000:]
    assert run.result["trial_actor_nodes"][0] == removed
    assert removed not in run.result["survivors"]


def test_the_trial_is_retried_on_the_surviving_node_and_finishes(run) -> None:
    assert run.result["error"] is None
    assert len(run.result["trial_actor_nodes"]) >= 2, run.output[-3000:]
    assert run.result["trial_actor_nodes"][-1] in run.result["survivors"]
    assert "retrying from its last checkpoint" in run.output
    assert run.result["final_epoch"] == MAX_EPOCHS


def test_the_retry_resumes_from_the_checkpoint_instead_of_restarting(run) -> None:
    survivor = run.result["survivors"][0]
    epochs = [r["epoch"] for r in run.result["reported"] if r["node"] == survivor]
    assert epochs and epochs[0] > 1
    assert epochs == list(range(epochs[0], MAX_EPOCHS + 1))


if __name__ == "__main__":
    scenario_main(scenario)
