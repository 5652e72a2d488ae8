"""The tree features equal, to 1e-9, what the implementation before they were made fast
computed on real windows (``golden/tree_features.npz``, written by ``make_tree_golden.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from models.data.loader import load_market_data
from models.predictors.tree_features import TREE_FEATURES, tree_features
from tests.predictors.make_tree_golden import CASES, GOLDEN, case_frame, case_rows


@pytest.fixture(scope="module")
def golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def frames(real_data_dir):
    symbols = sorted({c[0] for c in CASES} | {"BTCUSDT"})
    return load_market_data(real_data_dir, symbols=symbols)


def test_feature_names_unchanged(golden: dict[str, np.ndarray]) -> None:
    assert tuple(golden["names"].tolist()) == TREE_FEATURES


@pytest.mark.parametrize("case", range(len(CASES)))
def test_values_match_the_reference(case: int, golden, frames) -> None:
    symbol, first, bars = CASES[case]
    got = tree_features(case_frame(frames, symbol, first, bars)).select(TREE_FEATURES)
    got_rows = got.to_numpy()[case_rows(bars)]
    want = golden[f"case{case}"]
    assert got_rows.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got_rows), np.isnan(want))
    np.testing.assert_allclose(got_rows, want, rtol=1e-9, atol=1e-9)


def test_block_columns_are_the_tree_features() -> None:
    from models.predictors import tree_features as tf

    assert tf._BLOCK_NAMES == TREE_FEATURES
    assert tf._SMC_CONFIG.atr_length == 14  # the ATR(14) indicator column is the SMC scale


def test_the_leader_part_equals_the_leaders_own_features(frames) -> None:
    """The leader's columns skip the SMC analysis no leader feature reads: same values."""
    from models.predictors.tree_features import (
        leader_block,
        leader_feature_block,
        own_feature_block,
    )

    btc = frames["BTCUSDT"].slice(4000, 900)
    direct = leader_feature_block(btc)
    via_own = leader_block(own_feature_block(btc))
    assert direct.names == via_own.names
    np.testing.assert_array_equal(direct.values, via_own.values)
    np.testing.assert_array_equal(direct.timestamps, via_own.timestamps)
