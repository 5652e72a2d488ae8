"""Inference precision: bf16 weights only where they are fast and the network runs in bf16."""

from __future__ import annotations

import pytest
import torch

from models.errors import ConfigError
from models.nets import device as device_mod
from models.nets.device import use_bf16_weights

CPU = torch.device("cpu")


def test_float32_never_casts() -> None:
    assert not use_bf16_weights("float32", CPU, True)


def test_bfloat16_casts_on_cpu_when_the_network_allows() -> None:
    assert use_bf16_weights("bfloat16", CPU, True)
    assert not use_bf16_weights("bfloat16", CPU, False)


def test_cuda_keeps_float32_weights_and_uses_autocast() -> None:
    assert not use_bf16_weights("auto", torch.device("cuda"), True)


@pytest.mark.parametrize("fast", [True, False])
def test_auto_follows_the_cpu(fast: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_mod, "cpu_has_fast_bf16", lambda: fast)
    assert use_bf16_weights("auto", CPU, True) is fast
    assert not use_bf16_weights("auto", CPU, False)


def test_cpu_probe_answers_a_bool() -> None:
    assert isinstance(device_mod.cpu_has_fast_bf16(), bool)


def test_unknown_precision_names_the_field() -> None:
    with pytest.raises(ConfigError, match="precision: must be one of"):
        use_bf16_weights("half", CPU, True)
