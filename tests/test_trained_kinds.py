"""One trained-kind contract: a new tree kind is its own module plus one registry entry.

The throwaway kind (tests/predictors/throwaway_kind.py) is added to the predictor registry
and nothing else; it is then trained by ``scripts/train.py``'s own functions (its job built
with the leader's candles), published, loaded and replayed by the evaluation's sources and
served by the serving code, and retrained by the scheduled retrainer, with no edit to
``scripts/``, ``deployments/`` or ``models/evaluation/``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.data.loader import load_market_data
from models.evaluation.predict import predict_period
from models.evaluation.sources import load_sources
from models.predictors import registry as predictor_registry
from models.registry import ModelRegistry
from models.serving import trained_models
from models.serving.pipeline import with_leader
from tests.predictors.throwaway_kind import ENTRY, NAME, TinyTreePredictor
from tests.scripts.script_loader import load_script


@pytest.fixture
def with_tiny_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(predictor_registry, "PREDICTORS", (*predictor_registry.PREDICTORS, ENTRY))


def test_a_new_tree_kind_trains_publishes_evaluates_and_serves(
    with_tiny_kind: None, tmp_path: Path, real_data_dir: Path
) -> None:
    reg = str(tmp_path / "reg")
    train = load_script("train")  # read after the entry exists: --models lists the new kind
    args = train.build_parser().parse_args(
        ["--data", str(real_data_dir), "--symbols", "ETHUSDT", "--models", NAME,
         "--max-rows", "600", "--registry", reg]
    )  # fmt: skip
    jobs = train.build_tree_jobs(args)
    assert list(jobs) == [NAME]
    rows = train._trainer(NAME)(jobs[NAME], None, reg)
    assert [(r.symbol, r.model) for r in rows] == [("ETHUSDT", NAME)]
    assert ModelRegistry(reg).latest("ETHUSDT", NAME) == rows[0].version

    sources = load_sources("ETHUSDT", reg, 4, trained=(NAME,), data_path=real_data_dir)
    spec = sources.specs[NAME]
    assert isinstance(spec.predictor, TinyTreePredictor) and spec.window_bars is None
    assert spec.predictor.leader is not None  # the leader's candles came with it
    assert [w.model for w in sources.windows] == [NAME]
    frames = load_market_data(real_data_dir, symbols=["ETHUSDT", "BTCUSDT"])
    eth, btc = frames["ETHUSDT"], frames["BTCUSDT"]
    rows_ = np.arange(eth.height - 5, eth.height)
    replayed = predict_period(eth, rows_, {NAME: spec})[NAME]
    assert all(p is not None and p.model == NAME for p in replayed)

    holder = trained_models.load(ModelRegistry(reg), "ETHUSDT", NAME)
    window = with_leader(eth.tail(40), btc)
    (reply,) = trained_models.predict(holder, [window])
    assert reply.ok and reply.version == rows[0].version
    # the served answer and the replayed one agree on the same last bar
    assert reply.value.probabilities == pytest.approx(replayed[-1].probabilities)


def test_the_retrainer_retrains_a_new_tree_kind_through_its_entry(
    with_tiny_kind: None, tmp_path: Path, real_data_dir: Path
) -> None:
    from models.training.retrain import RetrainJob, run_retraining

    reg = str(tmp_path / "reg")
    job = RetrainJob(
        "ETHUSDT", NAME, reg, str(tmp_path / "tune"), data_dir=str(real_data_dir), max_rows=600
    )
    version = run_retraining(job)
    assert ModelRegistry(reg).latest("ETHUSDT", NAME) == version


def test_the_leader_is_required_by_the_entry(
    with_tiny_kind: None, tmp_path: Path, real_data_dir: Path
) -> None:
    from models.errors import DataValidationError
    from models.training.tree_jobs import TreeRequest, prepare_tree_jobs

    (tmp_path / "data").mkdir()
    eth = load_market_data(real_data_dir, symbols=["ETHUSDT"])["ETHUSDT"].tail(100)
    eth.write_csv(tmp_path / "data" / "ETHUSDT-1h.csv")
    with pytest.raises(DataValidationError, match=f"{NAME} needs the leader BTCUSDT"):
        prepare_tree_jobs([NAME], TreeRequest(data=tmp_path / "data"))
