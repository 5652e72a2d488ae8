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
        where = actor_nodes()
        (result,) = list(grid)
        frame = result.metrics_dataframe
        return {
            "removed_node": removed.get("node"),
            "survivors": [n.node_id for n in cluster.worker_nodes],
            "attempts": [
                {"pid": int(pid), "node": where.get(int(pid)), "epochs": [int(e) for e in rows]}
                for pid, rows in _epochs_by_pid(frame.to_dict("records")).items()
            ],
            "final_epoch": int(result.metrics["epoch"]),
            "error": repr(result.error) if result.error else None,
        }


def _epochs_by_pid(rows: list[dict[str, Any]]) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    for row in rows:
        out.setdefault(int(row["pid"]), []).append(row["epoch"])
    return out


@pytest.fixture(scope="module")
def run(real_data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    storage = tmp_path_factory.mktemp("tune")
    return run_scenario(__file__, timeout=300, data_dir=str(real_data_dir), storage=str(storage))


def test_a_node_running_the_trial_was_removed(run) -> None:
    first = run.result["attempts"][0]
    assert run.result["removed_node"] is not None, run.output[-3000:]
    assert first["node"] == run.result["removed_node"]


def test_the_trial_is_retried_on_the_surviving_node_and_finishes(run) -> None:
    attempts = run.result["attempts"]
    assert run.result["error"] is None
    assert len(attempts) >= 2, run.output[-3000:]
    assert attempts[-1]["node"] in run.result["survivors"]
    assert run.result["final_epoch"] == MAX_EPOCHS
    assert "retrying from its last checkpoint" in run.output


def test_the_retry_resumes_from_the_checkpoint_instead_of_restarting(run) -> None:
    first, retry = run.result["attempts"][0], run.result["attempts"][-1]
    assert retry["epochs"][0] > 1
    assert retry["epochs"][0] <= max(first["epochs"]) + 1
    assert retry["epochs"] == list(range(retry["epochs"][0], MAX_EPOCHS + 1))


if __name__ == "__main__":
    scenario_main(scenario)
