"""Where the real market data lives by default."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def default_data_dir() -> Path:
    """``$SMARTMARKET_DATA`` if set, else ``../shared/data/binance_spot_1h`` beside the repo."""
    env = os.environ.get("SMARTMARKET_DATA")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data" / "binance_spot_1h"
