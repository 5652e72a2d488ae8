"""Search spaces: every sampled point builds a working network; bad values are named."""

from __future__ import annotations

import itertools
import random

import pytest
import torch
from ray import tune

from models.errors import ConfigError
from models.predictors.networks import build_model
from models.training.tune_space import (
    SEARCH_KEYS,
    longest_window,
    network_hparams,
    search_space,
)

MODELS = ("transformer", "cnn_lstm")


@pytest.mark.parametrize("small", [True, False])
@pytest.mark.parametrize("model", MODELS)
def test_space_has_the_five_knobs_as_tune_domains(model, small):
    space = search_space(model, small=small)
    assert tuple(space) == SEARCH_KEYS
    rng = random.Random(0)
    for _ in range(20):
        point = {k: d.sample(random_state=rng.randrange(1 << 30)) for k, d in space.items()}
        assert 0 < point["lr"] < 1e-2 and 0 <= point["dropout"] < 0.5
        assert point["seq_len"] <= longest_window(small=small)
    assert all(isinstance(d, tune.search.sample.Domain) for d in space.values())


def test_small_preset_is_smaller_than_full():
    for model in MODELS:
        small, full = search_space(model, small=True), search_space(model, small=False)
        assert max(small["width"].categories) < max(full["width"].categories)
        assert max(small["depth"].categories) <= max(full["depth"].categories)
    assert longest_window(small=True) < longest_window(small=False)


@pytest.mark.parametrize("model", MODELS)
def test_every_small_grid_point_builds_and_runs(model):
    space = search_space(model, small=True)
    widths, depths, lens = (space[k].categories for k in ("width", "depth", "seq_len"))
    for width, depth, seq_len in itertools.product(widths, depths, lens):
        hp = network_hparams(model, {"width": width, "depth": depth, "dropout": 0.1})
        net = build_model(model, 7, **hp)
        assert net(torch.zeros(2, seq_len, 7)).shape == (2, 3)


def test_hparams_mapping_per_network():
    tr = network_hparams("transformer", {"width": 128, "depth": 3, "dropout": 0.2})
    assert tr == {"d_model": 128, "nhead": 8, "num_layers": 3, "dropout": 0.2}
    cl = network_hparams("cnn_lstm", {"width": 32, "depth": 2, "dropout": 0.0})
    assert cl == {"channels": 32, "hidden": 32, "lstm_layers": 2, "dropout": 0.0}


@pytest.mark.parametrize(
    ("model", "config", "field"),
    [
        ("transformer", {"width": 0, "depth": 1}, "width"),
        ("transformer", {"width": 30, "depth": 1}, "width"),
        ("cnn_lstm", {"width": 16, "depth": 1.5}, "depth"),
        ("cnn_lstm", {"width": 16, "depth": 1, "dropout": 1.0}, "dropout"),
        ("gru", {"width": 16, "depth": 1}, "model"),
    ],
)
def test_bad_values_raise_config_error_naming_the_field(model, config, field):
    with pytest.raises(ConfigError, match=field):
        network_hparams(model, config)


def test_unknown_model_has_no_space():
    with pytest.raises(ConfigError, match="model: unknown 'lstm'"):
        search_space("lstm")
