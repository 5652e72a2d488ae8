"""The combiner fitted after training, as published in the model registry beside the models.

A fit is made per symbol on bars its members never trained on (the walk-forward replay of
:mod:`models.evaluation.combiner_fit`) and pooled (:func:`pooled_fits`): the regressions'
evidence of every symbol adds up, the calibration maps' too, and the pooled fit becomes the
prior of each symbol's published state (weighed as at most one symbol's memory of outcomes,
``(1 / h) / (1 - 0.5 ** (1 / half_life))`` independent observations); each symbol keeps its
own members' trailing distributions. Published as model ``combiner`` of each symbol
(``config.json`` holds the fit; its manifest's data window names the bars and the member
versions it was fitted on), so a new version of a member never silently inherits a fit made
for another.

Layout of a fit (what :meth:`models.ensemble.learned.LearnedCombiner.seed` takes)::

    {"format": 1, "members": [...], "state": <SymbolState.state_dict()>,
     "equal_calibration": <CalibrationMap.state_dict()>,
     "provenance": {"version", "members": {name: version}, "bars", "first_bar",
                    "last_bar", "symbols_pooled", "fit_ic": {...}}}

``equal_calibration`` is the map fitted the same way on the equal-weight score
(``members_mean``), so that baseline starts from a map of its own score, as fairly as the
learned weights start from theirs.

The fit also chooses the weights it publishes (:func:`select_weights`): learned ones only
when, over every symbol's held-out bars, the learned score (each bar's made before its
outcome was learned) ranked the forward return better than the equal-weight score on the
same bars; equal ones otherwise, with the map fitted on the equal-weight score. With member
ICs of a few hundredths, weights learned from a few thousand outcomes are mostly noise, and
a fit that cannot show otherwise on bars it has not learned from publishes the average that
keeps the members' edge. The regressions' evidence is published either way (they keep
learning; the next fit chooses again).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from models.ensemble.calibration_map import CalibrationMap
from models.ensemble.learned import PUBLISHED_FORMAT
from models.ensemble.learning_config import CombinerConfig
from models.ensemble.symbol_state import SymbolState
from models.errors import ConfigError, CorruptModelError, ModelNotFoundError
from models.registry import ModelRegistry

logger = logging.getLogger(__name__)

COMBINER = "combiner"
"""The registry's model name of a published combiner."""


def memory(cfg: CombinerConfig, overlap: int) -> float:
    """Independent observations a symbol's decayed statistics hold at most (each outcome
    weighs ``1 / overlap``)."""
    return float(1.0 / overlap / (1.0 - 0.5 ** (1.0 / cfg.half_life)))


def select_weights(provenance: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The weights to publish (``learned`` or ``equal``) and why: the walk-forward ICs
    (``fit_ic`` of each symbol's provenance) pooled over the symbols, weighted by their
    outcomes. Learned only when their IC is above the equal weights' (no evidence: equal)."""
    count = learned = equal = 0.0
    for prov in provenance.values():
        ic = prov.get("fit_ic") or {}
        n, ens, mean = ic.get("outcomes") or 0, ic.get("ensemble"), ic.get("members_mean")
        if n > 0 and ens is not None and mean is not None:
            count, learned, equal = count + n, learned + n * ens, equal + n * mean
    chosen = "learned" if count > 0 and learned > equal else "equal"
    return {
        "weights": chosen,
        "learned_ic": learned / count if count else None,
        "members_mean_ic": equal / count if count else None,
        "outcomes": int(count),
        "rule": "learned weights only when their walk-forward IC on the held-out bars "
        "beats the equal weights'",
    }


def pooled_fits(
    states: Mapping[str, SymbolState],
    provenance: Mapping[str, Mapping[str, Any]],
    members: Sequence[str],
    equal: Sequence[str],
    cfg: CombinerConfig,
    overlap: int,
    equal_maps: Mapping[str, CalibrationMap] | None = None,
) -> dict[str, dict[str, Any]]:
    """One publishable fit per symbol of ``states`` (each fitted on its own held-out bars):
    the pooled regressions and calibration map as the prior, the symbol's own
    standardization, and its ``provenance``; ``equal_maps``: each symbol's map fitted on the
    equal-weight score, pooled the same way (and the published map when the fit chooses
    equal weights, :func:`select_weights`)."""
    pooled = SymbolState(members, equal, cfg, overlap)
    for state in states.values():
        pooled.direction.add(state.direction)
        pooled.move.add(state.move)
    held, most = pooled.direction.count, memory(cfg, overlap)
    factor = min(1.0, most / held) if held > 0 else 1.0
    pooled.direction.adopt_as_prior(most)
    pooled.move.adopt_as_prior(most)
    pooled.calibration = CalibrationMap.pooled(
        [s.calibration for s in states.values()], cfg.map_prior, cfg.half_life
    )
    pooled.calibration.adopt_as_prior(factor)
    shared = pooled.state_dict()
    extra: dict[str, Any] = {}
    if equal_maps:
        own = CalibrationMap.pooled(list(equal_maps.values()), cfg.map_prior, cfg.half_life)
        own.adopt_as_prior(factor)
        extra["equal_calibration"] = own.state_dict()
    selection = select_weights(provenance)
    shared["weights"] = selection["weights"]
    if selection["weights"] == "equal" and "equal_calibration" in extra:
        shared["calibration"] = extra["equal_calibration"]
    out = {}
    for symbol, state in states.items():
        fit = {**shared, "standardizer": state.standardizer.state_dict(), "fitted": None}
        out[symbol] = {
            "format": PUBLISHED_FORMAT,
            "members": list(members),
            "state": fit,
            **extra,
            "provenance": {
                **provenance[symbol],
                "symbols_pooled": sorted(states),
                "selection": selection,
            },
        }
    return out


def publish_fit(
    registry: ModelRegistry, symbol: str, fit: Mapping[str, Any], metrics: Mapping[str, Any]
) -> str:
    """Publish ``fit`` as the newest ``combiner`` of ``symbol``; its version."""
    prov = fit["provenance"]
    window = {
        "symbol": symbol,
        "members": prov.get("members", {}),
        "train": {
            "start": prov["first_bar"],
            "end": prov["last_bar"],
            "label_end": prov["label_end"],
            "samples": prov["bars"],
        },
    }
    return registry.publish(
        symbol, COMBINER, state_dict={}, config=dict(fit), metrics=dict(metrics), data_window=window
    )


def load_fit(registry: ModelRegistry, symbol: str) -> dict[str, Any] | None:
    """The newest published fit of ``symbol`` (its version in the provenance), or None."""
    try:
        artifact = registry.load(symbol, COMBINER)
    except ModelNotFoundError:
        return None
    fit = dict(artifact.config)
    fit["provenance"] = {**dict(fit.get("provenance") or {}), "version": artifact.version}
    return fit


def load_fits(root: str | Path | None, symbols: Sequence[str] | None = None) -> dict[str, Any]:
    """Every symbol's newest published fit under registry ``root`` (only ``symbols`` when
    given); empty without a registry."""
    if root is None or ("://" not in str(root) and not Path(root).is_dir()):
        return {}
    registry = ModelRegistry(root)
    wanted = symbols if symbols is not None else sorted(registry.list_models())
    fits = {}
    for symbol in wanted:
        try:
            fit = load_fit(registry, symbol)
        except ConfigError:  # not a symbol name the registry accepts
            continue
        except CorruptModelError as exc:  # serve on: that symbol starts from the prior
            logger.warning(
                "%s: published combiner unusable, starting from the prior: %s", symbol, exc
            )
            continue
        if fit is not None:
            fits[symbol] = fit
    return fits
