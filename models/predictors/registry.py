"""The predictor set as data: one entry per predictor, read by everything that lists them.

The Serve app builds one deployment per entry, the ensemble's default members, the
evaluation's sources, the training CLI's ``--models`` and the network factory all come from
:data:`PREDICTORS`, so adding a predictor is its own module(s) plus one entry here (and its
Serve config entries). Kinds:

- ``rule``: built with no trained model (``create_predictor(name)``), one shared instance.
- ``neural`` / ``tree``: a model per symbol published to the model registry and loaded with
  ``<target>.from_artifact``; served per symbol (multiplexed), trained by ``trainer``.

This module imports nothing heavy: ``scripts/train.py --help`` and the live service's
light modules read it without loading torch or Ray.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal

from models.errors import UnknownPredictorError

Kind = Literal["rule", "neural", "tree"]
KINDS: tuple[Kind, ...] = ("rule", "neural", "tree")
TRAINED_KINDS: tuple[Kind, ...] = ("neural", "tree")
"""Kinds whose predictors are trained per symbol and loaded from the model registry."""


@dataclass(frozen=True)
class PredictorEntry:
    """One predictor: what it is, how to build it, and its defaults."""

    name: str
    kind: Kind
    target: str
    """``module:Class`` of the :class:`~models.predictors.base.Predictor` (imported on use)."""
    cost: int
    """Relative cost of one call; the ensemble sends costlier calls first (its fan-out's
    calls leave one after another, and the slowest one sets a batch's latency)."""
    default_member: bool = True
    """In the ensemble's default members (``EnsembleConfig.members``). The ``original``
    preset's static weights are that system's own (``models.ensemble.original_config``)."""
    threads: int = 1
    """OpenMP / intra-op threads per Serve replica (replicas share few cores)."""
    network: str | None = None
    """``module:Class`` of the network (``neural`` kind): what ``build_model`` builds."""
    trainer: str | None = None
    """``module:function(setup, options, registry) -> SummaryRow``: tunes and publishes one
    (symbol, model) for ``scripts/train.py`` (trained kinds). A ``tree`` trainer takes one
    job over every symbol instead (built by ``prepare``; lgbm's ``LgbmJob``: per-symbol and
    pooled variants) and returns a row per (symbol, variant)."""
    prepare: str | None = None
    """``module:function(frames, leader, request) -> job`` (``tree`` kind): builds the job its
    ``trainer`` runs from every symbol's candles and the ``leader``'s, before Ray starts
    (:func:`models.training.tree_jobs.prepare_tree_jobs`)."""
    deployment: str | None = None
    """Serve deployment name; default: CamelCase of ``name`` + ``Deployment``."""
    served: bool = True
    """Built into the Serve app (one deployment)."""
    window_bars: int | None = None
    """Bars of history its models need (their ``min_bars``) when more than the app's
    ``window_bars``: the service fetches and sends it at least this many (None: the app's)."""
    leader: str | None = None
    """A symbol whose candles it needs beside every window of another symbol: the ensemble
    attaches that symbol's stored candles at the same open times as ``leader_*`` columns
    (:func:`models.predictors.leader.attach_leader`)."""
    columns: tuple[str, ...] | None = None
    """The window columns it reads, when fewer than everything the service computes (the
    candles and the indicator columns): the fan-out sends only these (the leader's columns
    are attached after). None: every column."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.trained and self.trainer is None:
            raise ValueError(f"{self.name}: a {self.kind} predictor needs a trainer")
        if self.kind == "tree" and self.prepare is None:
            raise ValueError(f"{self.name}: a tree predictor needs a prepare function")
        if self.kind == "neural" and self.network is None:
            raise ValueError(f"{self.name}: a neural predictor needs a network")
        if self.threads < 1:
            raise ValueError(f"{self.name}: threads must be >= 1")
        if self.window_bars is not None and self.window_bars < 1:
            raise ValueError(f"{self.name}: window_bars must be >= 1")
        if self.columns is not None and "timestamp" not in self.columns:
            raise ValueError(f"{self.name}: columns must include timestamp")

    @property
    def trained(self) -> bool:
        """Needs a trained model per symbol from the model registry."""
        return self.kind in TRAINED_KINDS

    @property
    def deployment_name(self) -> str:
        """The name of its Serve deployment (what Serve config files list)."""
        if self.deployment:
            return self.deployment
        return "".join(part.capitalize() for part in self.name.split("_")) + "Deployment"


_NEURAL_TRAINER = "models.training.tune:tune_and_publish"

PREDICTORS: tuple[PredictorEntry, ...] = (
    PredictorEntry(
        "transformer",
        "neural",
        "models.predictors.transformer:TransformerPredictor",
        cost=50,
        network="models.nets.transformer:TransformerClassifier",
        trainer=_NEURAL_TRAINER,
    ),
    PredictorEntry(
        "cnn_lstm",
        "neural",
        "models.predictors.cnn_lstm:CnnLstmPredictor",
        cost=30,
        network="models.nets.cnn_lstm:CnnLstmClassifier",
        trainer=_NEURAL_TRAINER,
    ),
    PredictorEntry("indicators", "rule", "models.predictors.technical:TechnicalPredictor", cost=10),
    PredictorEntry("smc", "rule", "models.predictors.smc_predictor:SmcPredictor", cost=40),
    PredictorEntry(
        "lgbm",
        "tree",
        "models.predictors.lgbm:LgbmPredictor",
        cost=60,
        trainer="models.training.tune_lgbm:tune_lgbm",
        prepare="models.training.tune_lgbm:prepare_lgbm_job",
        window_bars=720,  # models.predictors.tree_features.WINDOW_BARS
        leader="BTCUSDT",  # models.predictors.tree_features.LEADER_SYMBOL
        # the candles only: its features compute their indicators over the window itself
        columns=("timestamp", "open", "high", "low", "close", "volume"),
    ),
)
"""Every predictor, in the order of the ensemble's default members."""


def predictor_entry(name: str) -> PredictorEntry:
    """The entry of ``name``; :class:`UnknownPredictorError` naming the known ones."""
    for entry in PREDICTORS:
        if entry.name == name:
            return entry
    known = ", ".join(e.name for e in PREDICTORS)
    raise UnknownPredictorError(f"unknown predictor {name!r}; known: {known}")


def predictor_names(*kinds: Kind) -> tuple[str, ...]:
    """Registered names (of ``kinds`` only, when given), in registry order."""
    return tuple(e.name for e in PREDICTORS if not kinds or e.kind in kinds)


def trained_names() -> tuple[str, ...]:
    """Names of the predictors that need a trained model per symbol."""
    return predictor_names(*TRAINED_KINDS)


def default_members() -> tuple[str, ...]:
    """The ensemble's default members, in registry order."""
    return tuple(e.name for e in PREDICTORS if e.default_member)


def served_window_bars(app_window_bars: int, names: tuple[str, ...] | None = None) -> int:
    """Bars the service keeps in a window: the app's, or more when a served predictor (of
    ``names``, when given) needs more (its ``window_bars``)."""
    needs = [
        e.window_bars
        for e in PREDICTORS
        if e.served and e.window_bars is not None and (names is None or e.name in names)
    ]
    return max([app_window_bars, *needs])


def load_target(path: str) -> Any:
    """The object a ``module:attr`` path names (its module imported on first use)."""
    module_name, _, attr = path.partition(":")
    return getattr(importlib.import_module(module_name), attr)
