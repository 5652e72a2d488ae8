"""RegimeConfig: sane defaults, and bad values fail with our ConfigError naming the field."""

from __future__ import annotations

import pytest

from models.errors import ConfigError
from models.regime.config import RegimeConfig


def test_defaults_match_the_documented_thresholds() -> None:
    cfg = RegimeConfig()
    assert (cfg.adx_trend, cfg.adx_range) == (25.0, 20.0)
    assert cfg.bb_width_percentile_window == 200
    assert (cfg.squeeze_percentile, cfg.expansion_percentile) == (0.2, 0.8)
    assert cfg.volume_spike == 2.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"adx_period": 1}, "adx_period"),
        ({"bb_width_percentile_window": 5}, "bb_width_percentile_window"),
        ({"squeeze_percentile": 1.5}, "squeeze_percentile"),
        ({"volume_spike": 0}, "volume_spike"),
        ({"adx_softness": -1.0}, "adx_softness"),
        ({"adx_trend": "high"}, "adx_trend"),
        ({"no_such_threshold": 3}, "no_such_threshold"),
    ],
)
def test_invalid_field_raises_config_error_naming_it(kwargs: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        RegimeConfig(**kwargs)


def test_inconsistent_thresholds_are_rejected() -> None:
    with pytest.raises(ConfigError, match="adx_range"):
        RegimeConfig(adx_trend=20.0, adx_range=30.0)
    with pytest.raises(ConfigError, match="squeeze_percentile"):
        RegimeConfig(squeeze_percentile=0.7, expansion_percentile=0.6)


def test_config_is_immutable_and_round_trips() -> None:
    cfg = RegimeConfig(adx_trend=30.0)
    assert RegimeConfig(**cfg.model_dump()) == cfg
    with pytest.raises(Exception, match="frozen"):
        cfg.adx_trend = 10.0  # type: ignore[misc]


def test_messages_read_like_the_ensemble_configs() -> None:
    """Same describer as the ensemble config: unknown keys named, pydantic prefixes dropped."""
    with pytest.raises(ConfigError, match=r"^invalid regime config: unknown key 'no_such'$"):
        RegimeConfig(no_such=1)
    with pytest.raises(ConfigError) as info:
        RegimeConfig(adx_trend=20.0, adx_range=30.0)
    message = str(info.value)
    assert message.startswith("invalid regime config: (root): adx_range (30.0) must not exceed")
    assert "Value error" not in message
