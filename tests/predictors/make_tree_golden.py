"""Writes ``golden/tree_features.npz``: tree features of real windows, the reference the fast
implementation is compared against (``test_tree_features_golden.py``).

Generated once with the implementation before the features were made fast (commit 3b72046)
and committed; rerunning it with today's code would only compare the code with itself.

    PYTHONPATH=. python tests/predictors/make_tree_golden.py [--data DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import polars as pl

from models.data.loader import load_market_data
from models.data.paths import default_data_dir
from models.predictors.leader import attach_leader
from models.predictors.tree_features import TREE_FEATURES, tree_features

GOLDEN = Path(__file__).parent / "golden" / "tree_features.npz"

CASES: tuple[tuple[str, int, int], ...] = (
    # (symbol, first bar, bars): 720-bar live windows at several bars and starting hours,
    # the leader's own window, and one long frame (the training path)
    ("ETHUSDT", 5000, 720),
    ("ETHUSDT", 9003, 720),
    ("BTCUSDT", 12011, 720),
    ("SOLUSDT", 7017, 720),
    ("DOGEUSDT", 15500, 720),
    ("XRPUSDT", 2000, 3000),
)


def case_rows(bars: int) -> np.ndarray:
    """Rows kept of a case (the file stays small): a spread over the warm-up and the whole
    frame, and every one of the last 24 (what the live predictor reads)."""
    step = 9 if bars <= 720 else 53
    return np.unique(np.concatenate([np.arange(0, bars, step), np.arange(bars - 24, bars)]))


def case_frame(frames: dict[str, pl.DataFrame], symbol: str, first: int, bars: int) -> pl.DataFrame:
    """The window of a case, the leader's candles attached (none for the leader itself)."""
    window = frames[symbol].slice(first, bars)
    if symbol == "BTCUSDT":
        return window
    return attach_leader(window, frames["BTCUSDT"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=None)
    args = p.parse_args()
    symbols = sorted({c[0] for c in CASES} | {"BTCUSDT"})
    frames = load_market_data(args.data or default_data_dir(), symbols=symbols)
    arrays = {}
    for i, (symbol, first, bars) in enumerate(CASES):
        feats = tree_features(case_frame(frames, symbol, first, bars)).select(TREE_FEATURES)
        arrays[f"case{i}"] = feats.to_numpy().astype(np.float64)[case_rows(bars)]
    arrays["names"] = np.array(TREE_FEATURES)
    GOLDEN.parent.mkdir(exist_ok=True)
    np.savez_compressed(GOLDEN, **arrays)
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
