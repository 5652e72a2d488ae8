"""The predictor registry: one entry per predictor, and what reads it agrees with it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from models.errors import UnknownPredictorError
from models.predictors.base import predictor_class, register_predictor
from models.predictors.registry import (
    PREDICTORS,
    PredictorEntry,
    default_members,
    predictor_entry,
    predictor_names,
    served_window_bars,
    trained_names,
)


def test_names_and_deployment_names_are_unique():
    names = [e.name for e in PREDICTORS]
    assert len(names) == len(set(names))
    deployments = [e.deployment_name for e in PREDICTORS]
    assert len(deployments) == len(set(deployments))


def test_built_in_set_and_its_serve_names():
    assert predictor_names() == ("transformer", "cnn_lstm", "indicators", "smc", "lgbm")
    assert predictor_names("rule") == ("indicators", "smc")
    assert trained_names() == ("transformer", "cnn_lstm", "lgbm")
    names = {e.name: e.deployment_name for e in PREDICTORS}
    assert names["cnn_lstm"] == "CnnLstmDeployment" and names["smc"] == "SmcDeployment"
    assert names["lgbm"] == "LgbmDeployment" and predictor_entry("lgbm").trained
    assert all(e.served and e.default_member for e in PREDICTORS)
    other = PredictorEntry("other_tree", "tree", "x:Y", cost=1, trainer="x:train", prepare="x:job")
    assert other.deployment_name == "OtherTreeDeployment" and other.served


def test_lgbm_needs_match_its_feature_module():
    """The registry imports nothing heavy, so lgbm's needs are literals: they must be the
    feature module's (bars per window, the leader symbol)."""
    from models.predictors.tree_features import LEADER_SYMBOL, WINDOW_BARS

    entry = predictor_entry("lgbm")
    assert (entry.window_bars, entry.leader) == (WINDOW_BARS, LEADER_SYMBOL)
    assert served_window_bars(512) == WINDOW_BARS and served_window_bars(1000) == 1000


@pytest.mark.parametrize("name", predictor_names())
def test_every_entry_builds_its_class_under_its_name(name):
    cls = predictor_class(name)
    assert cls.name == name
    assert cls.__module__ + ":" + cls.__qualname__ == predictor_entry(name).target


def test_default_members_are_the_ensemble_defaults():
    from models.ensemble import EnsembleConfig

    assert EnsembleConfig().members == default_members()
    # the replaced system's weights are its own, not a registry field the learned mode ignores
    assert EnsembleConfig.preset("original").original.weights == {
        "transformer": 0.4,
        "cnn_lstm": 0.3,
        "indicators": 0.2,
        "smc": 0.1,
    }
    assert EnsembleConfig.preset("original").models == (
        "transformer",
        "cnn_lstm",
        "indicators",
        "smc",
    )


def test_unknown_names_are_our_error_naming_the_known_ones():
    with pytest.raises(UnknownPredictorError, match="known: transformer, cnn_lstm"):
        predictor_entry("nope")
    with pytest.raises(UnknownPredictorError, match="'nope'"):
        predictor_class("nope")
    with pytest.raises(UnknownPredictorError):
        register_predictor("nope")(type("Nope", (), {}))


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"kind": "forest"}, "kind"),
        ({"kind": "tree"}, "trainer"),
        ({"kind": "tree", "trainer": "m:f"}, "prepare"),
        ({"kind": "neural", "trainer": "m:f"}, "network"),
        ({"threads": 0}, "threads"),
        ({"window_bars": 0}, "window_bars"),
    ],
)
def test_inconsistent_entries_are_refused(kwargs, needle):
    args = {"name": "x", "kind": "rule", "target": "m:C", "cost": 1, **kwargs}
    with pytest.raises(ValueError, match=needle):
        PredictorEntry(**args)


def test_reading_the_registry_loads_neither_torch_nor_ray():
    code = (
        "import sys; from models.predictors.registry import PREDICTORS; "
        "from models.ensemble.config import EnsembleConfig; "
        "print('torch' in sys.modules, 'ray' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
