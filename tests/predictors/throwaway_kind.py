"""A throwaway ``tree`` kind for the contract test (tests/test_trained_kinds.py): its own
predictor, job builder and trainer, known to the project only through one registry entry.

It is deliberately tiny: per symbol, the training part's class frequencies, tilted towards
the leader's last move (so the leader's candles are a real extra input it must be given).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import torch

from models.labels import LabelConfig, make_labels
from models.predictors.base import Prediction, Predictor
from models.predictors.leader import leader_candles
from models.predictors.registry import PredictorEntry
from models.registry import ModelArtifact, ModelRegistry
from models.training.summary import SummaryRow
from models.training.tree_jobs import TreeRequest

NAME = "tiny_tree"
MIN_BARS = 30

ENTRY = PredictorEntry(
    NAME,
    "tree",
    f"{__name__}:TinyTreePredictor",
    cost=5,
    default_member=False,
    trainer=f"{__name__}:train_tiny",
    prepare=f"{__name__}:prepare_tiny",
    leader="BTCUSDT",
)


class TinyTreePredictor(Predictor):
    name = NAME

    def __init__(self, artifact: ModelArtifact, leader: pl.DataFrame | None = None) -> None:
        self.freqs = artifact.state_dict["freqs"].numpy().astype(np.float64)
        self.horizon = int(artifact.config["horizon"])
        self.symbol = artifact.symbol
        self.leader_symbol = str(artifact.config["leader"])
        self.leader = leader
        self.version = artifact.version

    @classmethod
    def from_artifact(
        cls,
        artifact: ModelArtifact,
        device: str = "cpu",
        precision: str = "float32",
        *,
        leader_candles: pl.DataFrame | None = None,
    ) -> TinyTreePredictor:
        del device, precision
        return cls(artifact, leader_candles)

    @property
    def min_bars(self) -> int:
        return MIN_BARS

    def predict(self, window: pl.DataFrame) -> Prediction:
        tilt = 0.0
        if self.symbol != self.leader_symbol:
            lead = leader_candles(window)
            if lead is None and self.leader is not None:
                lead = self.leader.filter(pl.col("timestamp") <= window["timestamp"][-1])
            if lead is None or lead.height < 2:
                raise ValueError(f"{NAME}: needs the leader's candles")
            tilt = float(np.sign(lead["close"][-1] - lead["close"][-2])) * 0.05
        p = self.freqs + np.array([-tilt, 0.0, tilt])
        p = np.clip(p, 1e-3, None) / np.clip(p, 1e-3, None).sum()
        probs = (float(p[0]), float(p[1]), float(p[2]))
        return Prediction(NAME, probs, max(probs), self.horizon, self.version)


@dataclass(frozen=True)
class TinyJob:
    frames: Mapping[str, pl.DataFrame]
    horizon: int
    provenance: Mapping[str, Any]


def prepare_tiny(
    frames: Mapping[str, pl.DataFrame], leader: pl.DataFrame | None, request: TreeRequest
) -> TinyJob:
    assert leader is not None, "the entry names a leader: its candles must come"
    rows = request.max_rows or 10**9
    tails = {s: f.tail(rows) for s, f in frames.items()}
    return TinyJob(tails, request.horizon, request.provenance())


def train_tiny(job: TinyJob, options: Any, registry: str) -> list[SummaryRow]:
    del options
    reg = ModelRegistry(registry)
    out = []
    for symbol, frame in job.frames.items():
        labels = make_labels(frame, LabelConfig(horizon=job.horizon)).drop_nulls().to_numpy()
        cut = int(len(labels) * 0.7)
        freqs = np.bincount(labels[:cut].astype(np.int64), minlength=3) / max(cut, 1)
        stamps = frame["timestamp"]
        version = reg.publish(
            symbol,
            NAME,
            state_dict={"freqs": torch.tensor(freqs)},
            config={"model": NAME, "horizon": job.horizon, "leader": ENTRY.leader},
            metrics={},
            data_window={
                "train": {"start": stamps[0].isoformat(), "label_end": stamps[cut].isoformat()},
                "val": {"label_end": stamps[len(labels) - 1].isoformat()},
                **job.provenance,
            },
        )
        out.append(SummaryRow(symbol, NAME, version=version))
    return out
