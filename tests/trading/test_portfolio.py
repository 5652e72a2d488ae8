"""Across symbols: kept positions keep their exposure, new ones share what is left of the
gross cap, and what no longer fits is not traded."""

from __future__ import annotations

import pytest

from models.trading import Decision, TradingSettings, allocate

S = TradingSettings(max_gross=0.5)


def new(side, size, action="open"):
    return Decision(action, side, size, 10, 20.0, f"{action} it")


def keep():
    return Decision("hold", 1, 0.0, 10, 20.0, "hold it")


def test_new_positions_fit_as_they_are_when_there_is_room():
    out = allocate({"A": new(1, 0.2), "B": new(-1, 0.1)}, {}, S)
    assert out["A"].weight == pytest.approx(0.2)
    assert out["B"].weight == pytest.approx(-0.1)
    assert "scaled" not in out["A"].reason


def test_new_positions_are_scaled_together_into_the_room_kept_ones_leave():
    decisions = {"A": new(1, 0.25), "B": new(-1, 0.25), "C": keep()}
    out = allocate(decisions, {"C": 0.3}, S)
    # room 0.5 - 0.3 = 0.2 for 0.5 wanted: factor 0.4
    assert out["A"].weight == pytest.approx(0.1)
    assert out["B"].weight == pytest.approx(-0.1)
    assert out["C"].action == "hold" and out["C"].weight == 0.0
    assert "scaled by 0.400" in out["A"].reason


def test_a_closing_or_flipping_position_frees_its_room():
    decisions = {"A": new(1, 0.25, "flip"), "C": Decision("close", 0, 0.0, None, 0.0, "c")}
    out = allocate(decisions, {"A": -0.25, "C": 0.25}, S)
    assert out["A"].weight == pytest.approx(0.25)


def test_what_no_longer_fits_is_not_traded():
    decisions = {"A": new(1, 0.2), "B": new(1, 0.2, "flip"), "C": keep()}
    out = allocate(decisions, {"C": 0.495, "B": -0.1}, S)
    assert out["A"].action == "flat" and "no room under max_gross" in out["A"].reason
    assert out["B"].action == "close"  # the flip only closes
