"""Fixtures of the evaluation tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.evaluation.tiny_model import train_tiny_registry


@pytest.fixture(scope="session")
def tiny_registry(tmp_path_factory: pytest.TempPathFactory, btc) -> Path:
    return train_tiny_registry(tmp_path_factory.mktemp("registry"), btc)
