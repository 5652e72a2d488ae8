"""One scheduled retraining: a Tune run through the same code as ``scripts/train.py``.

A :class:`RetrainJob` is plain data (it travels to a Ray worker); :func:`run_retraining`
writes the candles to train on (the service's stored candles, or a data directory as is),
runs the predictor's trainer under a fresh experiment name (a network:
:func:`models.training.tune.tune_and_publish`; the tree model: its per-symbol variant
through :func:`models.training.tune_lgbm.tune_lgbm`, with the leader's candles beside the
symbol's, as ``scripts/train.py --models lgbm --lgbm-variant per_symbol`` does) and returns
the published version. Nothing here decides *when*: that is
:mod:`models.training.retrain_schedule`.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from models.errors import DataValidationError, RetrainError
from models.store import StateStore

if TYPE_CHECKING:  # the trainers import torch and Ray: loaded only when a job runs
    from models.training.summary import SummaryRow
    from models.training.tune import TuneOptions


@dataclass(frozen=True)
class RetrainJob:
    """What to retrain and how big a search to run (small by default: it runs beside serving)."""

    symbol: str
    model: str
    registry: str
    storage: str
    state_db: str | None = None
    data_dir: str | None = None
    num_samples: int = 1
    max_epochs: int = 2
    max_rows: int | None = 5_000
    cpus_per_trial: float = 1.0
    small: bool = True

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def stored_candles_dir(state_db: str, symbol: str, out_dir: Path) -> Path:
    """The state's candles of ``symbol`` written as ``<out_dir>/<SYMBOL>.parquet`` (read
    beside the state deployment, which holds the file's writer lock)."""
    if not Path(state_db).expanduser().is_file():
        raise DataValidationError(f"symbol: no stored candles of {symbol} to retrain on")
    store = StateStore(state_db, retain_bars=None, read_only=True)
    try:
        frame = store.candles(symbol)
    finally:
        store.close()
    if frame.height == 0:
        raise DataValidationError(f"symbol: no stored candles of {symbol} to retrain on")
    frame.write_parquet(out_dir / f"{symbol}.parquet")
    return out_dir


def run_retraining(job: RetrainJob) -> str:
    """Tune and publish ``job``'s model; returns the new version (raises on failure)."""
    from models.predictors.registry import predictor_entry
    from models.training.tune import TuneOptions

    entry = predictor_entry(job.model)
    if not entry.trained:
        raise RetrainError(f"{job.model}: a {entry.kind} predictor has nothing to retrain")
    symbols = [job.symbol] + ([entry.leader] if entry.leader not in (None, job.symbol) else [])
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    options = TuneOptions(
        storage=job.storage,
        name=f"retrain-{stamp}",
        num_samples=job.num_samples,
        cpus_per_trial=job.cpus_per_trial,
        max_failures=0,
        small=job.small,
    )
    with tempfile.TemporaryDirectory(prefix="retrain-") as tmp:
        if job.data_dir is not None:
            data_path = job.data_dir
        elif job.state_db is not None:
            for symbol in symbols:
                stored_candles_dir(job.state_db, symbol, Path(tmp))
            data_path = tmp
        else:
            raise DataValidationError("data: a retraining needs state_db or data_dir")
        if entry.kind == "tree":
            version = _retrain_tree(job, data_path, options)
        else:
            version = _retrain_network(job, data_path, options)
    return version


def _published(job: RetrainJob, rows: list[SummaryRow]) -> str:
    """The version published for ``job``'s symbol (the last row of it: the default)."""
    mine = [r for r in rows if r.symbol == job.symbol]
    version = mine[-1].version if mine else None
    if version is None:
        error = mine[-1].error if mine else "no row for the symbol"
        raise RetrainError(f"{job.symbol}/{job.model}: nothing published: {error}")
    return version


def _retrain_network(job: RetrainJob, data_path: str, options: TuneOptions) -> str:
    from models.training.tune import tune_and_publish
    from models.training.tune_trial import TrialSetup

    setup = TrialSetup(
        data_path=data_path,
        symbol=job.symbol,
        model=job.model,
        max_rows=job.max_rows,
        max_epochs=job.max_epochs,
    )
    return _published(job, [tune_and_publish(setup, options, job.registry)])


def _retrain_tree(job: RetrainJob, data_path: str, options: TuneOptions) -> str:
    """The per-symbol tree model of ``job.symbol`` on its newest ``max_rows`` candles, built
    and trained the way the kind's registry entry says (its ``prepare`` and ``trainer``;
    the leader's candles beside them when it names one)."""
    from models.predictors.registry import load_target, predictor_entry
    from models.training.tree_jobs import TreeRequest, prepare_tree_jobs

    request = TreeRequest(
        data=Path(data_path), symbols=(job.symbol,), max_rows=job.max_rows, retraining=True
    )
    tree_job = prepare_tree_jobs([job.model], request)[job.model]
    trainer = load_target(str(predictor_entry(job.model).trainer))
    return _published(job, trainer(tree_job, options, job.registry))
