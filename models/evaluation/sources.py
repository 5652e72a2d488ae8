"""The predictors evaluated for a symbol: the rule-based ones always, trained ones (neural
networks, trees) when the model registry has them, with the data window each was trained
and validated on.

A trained predictor loads the one way its registry entry says
(:func:`models.predictors.base.load_trained`); one whose entry names a ``leader`` also gets
that symbol's candles, loaded from the same data directory. A ``tree`` kind is replayed in one
feature pass over each row's whole history.

Rule-based predictors have no training window. A trained predictor without an artifact for
the symbol is left out and the reason is recorded, so the report can say which symbols were
evaluated without it instead of silently scoring fewer models.

The combiner published after training (:mod:`models.ensemble.published`) is loaded too: the
seeded ensemble variants start from it, and its window (the bars it was fitted on) bounds
the period like a model's. A member whose version differs from the one it was fitted on is
noted (the ensemble leaves that member out until its own outputs are learned).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.ensemble.published import COMBINER, load_fit
from models.errors import ConfigError, ModelNotFoundError
from models.evaluation.period import ModelWindow, model_window
from models.evaluation.predict import PredictorSpec
from models.evaluation.settings import TRAINED
from models.predictors.base import Predictor, create_predictor, load_trained
from models.predictors.registry import predictor_entry, predictor_names
from models.registry import ModelArtifact, ModelRegistry

RULE_BASED: tuple[str, ...] = predictor_names("rule")

NEURAL_BATCH_ROWS = 512
"""Rows per forward pass of a network (bounds memory of the attention maps)."""


@dataclass
class Sources:
    """Predictor specs by name, the windows of the trained ones, and notes for the report."""

    specs: dict[str, PredictorSpec] = field(default_factory=dict)
    windows: list[ModelWindow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    combiner: dict[str, Any] | None = None
    """The published combiner fit of the symbol (None: none in the registry)."""

    @property
    def combiner_version(self) -> str | None:
        return None if self.combiner is None else self.combiner["provenance"].get("version")


def load_sources(
    symbol: str,
    registry_root: str | Path | None,
    horizon: int,
    device: str = "cpu",
    trained: tuple[str, ...] = TRAINED,
    data_path: str | Path | None = None,
) -> Sources:
    """Specs for ``symbol``: rule-based predictors plus every trained one in the registry.

    ``data_path``: where the leader's candles are (tree models; without it they are built
    without, which is enough to read their windows but not to predict other symbols).
    """
    sources = Sources()
    for name in RULE_BASED:
        sources.specs[name] = PredictorSpec(create_predictor(name, horizon_bars=horizon))
    registry = _open(registry_root)
    for name in trained:
        if registry is None:
            sources.notes.append(f"{name}: no registry at {registry_root}")
            continue
        try:
            version = registry.latest(symbol, name)
        except ModelNotFoundError:
            sources.notes.append(f"{name}: no trained model for {symbol} in {registry_root}")
            continue
        artifact = registry.load(symbol, name, version)
        predictor = _trained(name, artifact, device, data_path)
        trained_horizon = int(artifact.config["horizon"])  # every trained kind saves it
        if trained_horizon != horizon:
            raise ConfigError(
                f"model {name!r} {version} of {symbol} predicts {trained_horizon} bars ahead "
                f"but --horizon is {horizon}: evaluate it with --horizon {trained_horizon}"
            )
        sources.windows.append(model_window(symbol, name, version, artifact.manifest))
        if predictor_entry(name).kind == "tree":
            sources.specs[name] = PredictorSpec(predictor, window_bars=None, version=version)
            continue
        sources.specs[name] = PredictorSpec(
            predictor, window_bars=predictor.min_bars, version=version, batch_rows=NEURAL_BATCH_ROWS
        )
    if registry is not None:
        _combiner(sources, registry, symbol)
    return sources


def _combiner(sources: Sources, registry: ModelRegistry, symbol: str) -> None:
    """The symbol's published combiner, its window, and any member it was not fitted on."""
    fit = load_fit(registry, symbol)
    if fit is None:
        sources.notes.append("combiner: none published; the seeded ensembles start cold")
        return
    version = fit["provenance"]["version"]
    manifest = registry.manifest(symbol, COMBINER, version)
    sources.windows.append(model_window(symbol, COMBINER, version, manifest))
    sources.combiner = fit
    fitted = dict(fit["provenance"].get("members") or {})
    for name, spec in sources.specs.items():
        if spec.version is not None and fitted.get(name) not in (None, spec.version):
            sources.notes.append(
                f"combiner {version} was fitted on {name} {fitted[name]}, evaluated with "
                f"{spec.version}: that member restarts its standardization"
            )


def _trained(
    name: str, artifact: ModelArtifact, device: str, data_path: str | Path | None
) -> Predictor:
    """The predictor of a registry artifact, with its leader's candles when its entry names
    a leader (and the artifact's symbol is not the leader itself)."""
    entry = predictor_entry(name)
    candles = None
    if entry.leader is not None and data_path is not None:
        from models.data.loader import load_market_data

        leader = str(artifact.config.get("leader", entry.leader))
        if artifact.symbol != leader:
            candles = load_market_data(data_path, symbols=[leader])[leader]
    return load_trained(name, artifact, device=device, leader_candles=candles)


def _open(root: str | Path | None) -> ModelRegistry | None:
    if root is None:
        return None
    if "://" not in str(root) and not Path(root).is_dir():
        return None
    return ModelRegistry(root)
