"""Costs and the ``trading`` settings: defaults, overrides and errors naming the field."""

from __future__ import annotations

import pytest

from models.errors import ConfigError
from models.trading import Costs, TradingSettings


def test_defaults_are_ten_bps_round_trip():
    settings = TradingSettings()
    assert settings.costs.round_trip_bps == pytest.approx(10.0)
    assert settings.costs == Costs(4.0, 1.0)


def test_a_round_trip_override_is_all_fees_half_a_side():
    settings = TradingSettings(fee_bps=2.0, slippage_bps=3.0).with_round_trip(4.0)
    assert settings.costs == Costs(2.0, 0.0)
    assert settings.costs.round_trip_bps == pytest.approx(4.0)
    assert TradingSettings().with_round_trip(0.0).costs.round_trip_bps == 0.0


def test_fill_price_moves_against_the_trade_and_the_fee_is_on_the_notional():
    costs = Costs(fee_bps=5.0, slippage_bps=10.0)
    assert costs.fill_price(100.0, 2.0) == pytest.approx(100.1)
    assert costs.fill_price(100.0, -2.0) == pytest.approx(99.9)
    assert costs.fee(-2.0, 99.9) == pytest.approx(2 * 99.9 * 5e-4)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"fee_bps": -1}, "fee_bps"),
        ({"slippage_bps": float("nan")}, "slippage_bps"),
        ({"kelly_fraction": 0}, "kelly_fraction"),
        ({"max_position": 1.5}, "max_position"),
        ({"certificate": {"delta": 1.0}}, "certificate.delta"),
        ({"horizon": 4}, "horizon"),
        ({"min_position": 0.5, "max_position": 0.25}, "min_position"),
    ],
)
def test_bad_settings_name_the_field(data, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        TradingSettings.parse(data)


@pytest.mark.parametrize("bad", [-1.0, float("inf"), "10"])
def test_bad_round_trip_costs_are_refused(bad):
    with pytest.raises(ConfigError, match="cost_bps"):
        Costs.round_trip(bad)
