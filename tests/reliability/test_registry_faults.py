"""Registry faults without Ray: what a crash or a bad file leaves behind must not block the
next publish, and every damaged version is refused with our error naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.errors import CorruptModelError
from models.registry import ModelRegistry

WINDOW = {"train": {"start": "2022-01-01T00:00:00Z"}}


def _publish(reg: ModelRegistry) -> str:
    state = {"w": torch.ones(2, 2)}  # the same bytes every time: the same content digest
    config = {"model": "cnn_lstm", "seq_len": 16}
    return reg.publish(
        "BTCUSDT", "cnn_lstm", state_dict=state, config=config, metrics={}, data_window=WINDOW
    )


def test_half_written_version_does_not_block_the_next_publish(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path)
    good = _publish(reg)
    half = _publish(reg)
    (tmp_path / "BTCUSDT" / "cnn_lstm" / half / "manifest.json").unlink()  # crashed mid-way
    assert reg.versions("BTCUSDT", "cnn_lstm") == [good]
    with pytest.raises(CorruptModelError, match=f"{half}/manifest.json: file is missing"):
        reg.load("BTCUSDT", "cnn_lstm")  # LATEST still names it
    again = _publish(reg)  # same content within the same second
    assert again not in (good, half) and again > half
    assert reg.load("BTCUSDT", "cnn_lstm").version == again
    assert reg.versions("BTCUSDT", "cnn_lstm") == [good, again]


@pytest.mark.parametrize(
    ("target", "damage", "reason"),
    [
        ("weights.pt", lambda b: b[: len(b) // 2], "weights.pt: sha256 does not match"),
        ("weights.pt", lambda b: b"", "weights.pt: sha256 does not match"),
        ("config.json", lambda b: b + b" ", "config.json: sha256 does not match"),
        ("manifest.json", lambda b: b[:30], "manifest.json: invalid JSON"),
        ("manifest.json", lambda b: b"[]", "manifest.json: expected a JSON object"),
        ("manifest.json", lambda b: b"{}", "manifest.json: no sha256 recorded for weights.pt"),
        ("../LATEST", lambda b: b"../../etc/passwd", "not a version id"),
    ],
)
def test_damaged_versions_are_refused_naming_the_file(tmp_path: Path, target, damage, reason):
    reg = ModelRegistry(tmp_path)
    version = _publish(reg)
    path = tmp_path / "BTCUSDT" / "cnn_lstm" / version / target
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CorruptModelError, match=reason):
        reg.load("BTCUSDT", "cnn_lstm")
