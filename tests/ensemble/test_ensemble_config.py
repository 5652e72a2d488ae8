"""EnsembleConfig: defaults, YAML + environment loading, and rejection of bad settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.ensemble import AdaptiveThresholdConfig, EnsembleConfig, TrackingConfig
from models.ensemble.config import CONFIG_PATH_ENV
from models.errors import ConfigError


def test_defaults_learned_members_and_the_original_section() -> None:
    cfg = EnsembleConfig()
    assert cfg.mode == "learned"
    assert cfg.members == ("transformer", "cnn_lstm", "indicators", "smc", "lgbm")
    assert cfg.models == cfg.members
    assert cfg.min_models == 2
    original = cfg.original
    assert original.weights == {"transformer": 0.4, "cnn_lstm": 0.3, "indicators": 0.2, "smc": 0.1}
    assert original.confidence_threshold == 0.7
    assert original.voting_method == "weighted"
    assert "volatile" not in original.regime.actionable_regimes
    assert len(original.regime.actionable_regimes) == 6
    trend = original.regime.multipliers["trending_bullish"]
    assert trend["transformer"] > trend["smc"] and trend["indicators"] > trend["smc"]
    ranging = original.regime.multipliers["ranging"]
    assert ranging["smc"] == max(ranging.values())
    preset = EnsembleConfig.preset("original")
    assert preset.mode == "original" and preset.models == tuple(original.weights)
    assert preset.original.voting_method == "confidence_weighted"
    assert not preset.original.adaptive_threshold.enabled


def test_yaml_loads_sections_and_keeps_other_defaults(tmp_path: Path) -> None:
    path = tmp_path / "ensemble.yaml"
    path.write_text(
        "members: [transformer, smc]\n"
        "learning: {combiner: {shrinkage: 100}}\n"
        "original:\n"
        "  weights: {transformer: 0.5, smc: 0.5}\n"
        "  voting_method: majority\n"
        "  tracking: {half_life: 10, min_outcomes: 5}\n"
        "  regime:\n"
        "    actionable_regimes: [ranging, consolidation]\n"
        "    multipliers: {ranging: {smc: 2.0}}\n"
    )
    cfg = EnsembleConfig.from_yaml(path)
    assert cfg.members == ("transformer", "smc")
    assert cfg.learning.combiner.shrinkage == 100.0
    assert cfg.learning.combiner.half_life == 2000.0  # untouched default
    original = cfg.original
    assert original.weights == {"transformer": 0.5, "smc": 0.5}
    assert original.voting_method == "majority"
    assert (original.tracking.half_life, original.tracking.min_outcomes) == (10.0, 5)
    assert original.tracking.weight_floor == 0.05  # untouched default
    assert original.regime.actionable_regimes == ("ranging", "consolidation")
    # multipliers override the defaults entry by entry
    assert original.regime.multipliers["ranging"]["smc"] == 2.0
    assert original.regime.multipliers["ranging"]["transformer"] == 0.9
    assert original.regime.multipliers["trending_bullish"]["transformer"] == 1.2


def test_environment_overrides_yaml_key_by_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ensemble.yaml"
    path.write_text(
        "original: {tracking: {half_life: 10, min_outcomes: 5}, confidence_threshold: 0.6}\n"
    )
    monkeypatch.setenv("SMARTMARKET_ENSEMBLE_ORIGINAL__TRACKING__HALF_LIFE", "25")
    monkeypatch.setenv("SMARTMARKET_ENSEMBLE_ORIGINAL__VOTING_METHOD", "confidence_weighted")
    monkeypatch.setenv("SMARTMARKET_ENSEMBLE_MEMBERS", json.dumps(["transformer", "smc"]))
    cfg = EnsembleConfig.from_yaml(path)
    assert cfg.original.tracking.half_life == 25.0
    assert cfg.original.tracking.min_outcomes == 5  # from YAML, not overridden
    assert cfg.original.confidence_threshold == 0.6
    assert cfg.original.voting_method == "confidence_weighted"
    assert cfg.members == ("transformer", "smc")


def test_environment_alone_and_load_from_named_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMARTMARKET_ENSEMBLE_MIN_MODELS", "3")
    monkeypatch.setenv("SMARTMARKET_ENSEMBLE_ORIGINAL__REGIME__ACTIONABLE_REGIMES", '["ranging"]')
    cfg = EnsembleConfig()
    assert cfg.min_models == 3 and cfg.original.regime.actionable_regimes == ("ranging",)
    assert EnsembleConfig.load() == cfg
    path = tmp_path / "e.yaml"
    path.write_text("strong_signal_margin: 0.2\n")
    monkeypatch.setenv(CONFIG_PATH_ENV, str(path))
    loaded = EnsembleConfig.load()
    assert loaded.strong_signal_margin == 0.2 and loaded.min_models == 3


def test_yaml_and_dict_round_trip(tmp_path: Path) -> None:
    cfg = EnsembleConfig(
        original={"voting_method": "majority", "tracking": {"half_life": 7.5}},
        learning={"combiner": {"weights": "equal"}},
    )
    path = tmp_path / "dump.yaml"
    path.write_text(cfg.to_yaml())
    assert EnsembleConfig.from_yaml(path) == cfg
    assert EnsembleConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@pytest.mark.parametrize(
    "key", ["weights", "confidence_threshold", "voting_method", "tracking", "regime"]
)
def test_keys_of_the_old_layout_are_refused_with_where_they_went(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = {"weights": {"smc": 1.0}, "confidence_threshold": 0.6, "voting_method": "majority"}
    with pytest.raises(ConfigError, match=rf"moved key.*{key}.*original"):
        EnsembleConfig(**{key: value.get(key, {})})
    monkeypatch.setenv(f"SMARTMARKET_ENSEMBLE_{key.upper()}", "1")
    with pytest.raises(ConfigError, match="moved under ORIGINAL__"):
        EnsembleConfig()


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"membres": ["smc"]}, "membres"),
        ({"members": []}, "members"),
        ({"members": ["smc", "smc"]}, "members"),
        ({"original": {"tracking": {"half_lif": 3}}}, "original.tracking.half_lif"),
        ({"original": {"weights": {"transformer": -0.1, "smc": 1.0}}}, "original.weights"),
        ({"original": {"weights": {"transformer": 0.0}}}, "original.weights"),
        ({"original": {"weights": {}}}, "original.weights"),
        ({"original": {"confidence_threshold": 1.5}}, "confidence_threshold"),
        ({"original": {"confidence_threshold": -0.1}}, "confidence_threshold"),
        ({"original": {"voting_method": "borda"}}, "original.voting_method"),
        ({"min_models": 0}, "min_models"),
        ({"original": {"tracking": {"half_life": 0}}}, "original.tracking.half_life"),
        ({"original": {"tracking": {"weight_floor": 1.0}}}, "original.tracking.weight_floor"),
        (
            {"original": {"regime": {"actionable_regimes": ["bullish"]}}},
            "original.regime.actionable_regimes",
        ),
        ({"original": {"regime": {"multipliers": {"moon": {"smc": 1.0}}}}}, "regime.multipliers"),
        ({"original": {"regime": {"multipliers": {"ranging": {"smc": -1}}}}}, "ranging.smc"),
        (
            {"original": {"adaptive_threshold": {"min_threshold": 0.9, "max_threshold": 0.6}}},
            "min_threshold",
        ),
        ({"original": {"adaptive_threshold": {"min_signals": 50, "window": 10}}}, "min_signals"),
        ({"original": {"adaptive_threshold": {"min_threshold": 0.8}}}, "confidence_threshold"),
        (
            {
                "original": {
                    "quality": {"good": {"confidence": 0.95, "agreement": 0.5, "coverage": 0.5}}
                }
            },
            "quality",
        ),
        ({"strong_signal_margin": 2}, "strong_signal_margin"),
        ({"learning": {"combiner": {"weights": "best"}}}, "learning.combiner.weights"),
        ({"learning": {"combiner": {"shrinkage": 0}}}, "learning.combiner.shrinkage"),
        ({"learning": {"combiner": {"half_life": -1}}}, "learning.combiner.half_life"),
    ],
)
def test_bad_config_names_the_field(overrides: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        EnsembleConfig(**overrides)


def test_bad_yaml_is_rejected_with_the_offending_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("original:\n  tracking:\n    half_life: 10\n    decay: 3\nsurprise: 1\n")
    with pytest.raises(ConfigError) as info:
        EnsembleConfig.from_yaml(path)
    assert "original.tracking.decay" in str(info.value) and "surprise" in str(info.value)
    path.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        EnsembleConfig.from_yaml(path)
    path.write_text("members: [transformer, \n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        EnsembleConfig.from_yaml(path)
    with pytest.raises(ConfigError, match="does not exist"):
        EnsembleConfig.from_yaml(tmp_path / "absent.yaml")


def test_bad_environment_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMARTMARKET_ENSEMBLE_TRESHOLD", "0.5")
    with pytest.raises(ConfigError, match="SMARTMARKET_ENSEMBLE_TRESHOLD"):
        EnsembleConfig()
    monkeypatch.delenv("SMARTMARKET_ENSEMBLE_TRESHOLD")
    monkeypatch.setenv("SMARTMARKET_ENSEMBLE_ORIGINAL__CONFIDENCE_THRESHOLD", "high")
    with pytest.raises(ConfigError, match="confidence_threshold"):
        EnsembleConfig()


def test_sections_raise_our_error_when_built_directly() -> None:
    with pytest.raises(ConfigError, match="half_life"):
        TrackingConfig(half_life=-1)


def test_threshold_grid_is_bounded_and_includes_both_ends() -> None:
    grid = AdaptiveThresholdConfig(min_threshold=0.55, max_threshold=0.8, step=0.1).grid()
    assert grid == (0.55, 0.65, 0.75, 0.8)
    assert AdaptiveThresholdConfig().grid() == (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)
