"""One scheduled retraining: a Tune run through the same code as ``scripts/train.py``.

A :class:`RetrainJob` is plain data (it travels to a Ray worker); :func:`run_retraining`
writes the candles to train on (the service's stored candles, or a data directory as is),
runs :func:`models.training.tune.tune_and_publish` under a fresh experiment name and returns
the published version. Nothing here decides *when*: that is
:mod:`models.training.retrain_schedule`.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from models.errors import DataValidationError, RetrainError
from models.store import StateStore


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
    from models.training.tune import TuneOptions, tune_and_publish
    from models.training.tune_trial import TrialSetup

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    with tempfile.TemporaryDirectory(prefix="retrain-") as tmp:
        if job.data_dir is not None:
            data_path = job.data_dir
        elif job.state_db is not None:
            data_path = str(stored_candles_dir(job.state_db, job.symbol, Path(tmp)))
        else:
            raise DataValidationError("data: a retraining needs state_db or data_dir")
        setup = TrialSetup(
            data_path=data_path,
            symbol=job.symbol,
            model=job.model,
            max_rows=job.max_rows,
            max_epochs=job.max_epochs,
        )
        options = TuneOptions(
            storage=job.storage,
            name=f"retrain-{stamp}",
            num_samples=job.num_samples,
            cpus_per_trial=job.cpus_per_trial,
            max_failures=0,
            small=job.small,
        )
        row = tune_and_publish(setup, options, job.registry)
    if row.version is None:
        raise RetrainError(f"{job.symbol}/{job.model}: nothing published: {row.error}")
    return row.version
