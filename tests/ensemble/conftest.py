"""Ensemble tests never see the machine's SMARTMARKET_ENSEMBLE_* variables."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_ensemble_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("SMARTMARKET_ENSEMBLE_"):
            monkeypatch.delenv(name)
