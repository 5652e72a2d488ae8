"""Networks: shapes, defaults, name/hparam validation and the recency-biased attention."""

from __future__ import annotations

import pytest
import torch

from models.errors import ConfigError
from models.nets.transformer import RecencyBias, TransformerClassifier
from models.predictors.networks import NETWORKS, build_model, default_hparams

SMALL = {
    "transformer": {"d_model": 16, "nhead": 4, "num_layers": 2},
    "cnn_lstm": {"channels": 8, "hidden": 16},
}


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_logits_shape_and_finite(name: str) -> None:
    torch.manual_seed(0)
    model = build_model(name, 7, **SMALL[name]).eval()
    out = model(torch.randn(5, 12, 7))
    assert out.shape == (5, 3)
    assert torch.isfinite(out).all()


def test_defaults_match_the_spec() -> None:
    t = default_hparams("transformer")
    assert (t["d_model"], t["nhead"], t["num_layers"], t["dropout"]) == (256, 8, 6, 0.1)
    c = default_hparams("cnn_lstm")
    assert (c["channels"], c["hidden"], c["lstm_layers"], c["dropout"]) == (64, 128, 2, 0.3)


def test_unknown_network_and_hparam_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="model"):
        build_model("mlp", 4)
    with pytest.raises(ConfigError, match=r"hparams.*n_heads"):
        build_model("transformer", 4, n_heads=2)
    with pytest.raises(ConfigError, match="n_features"):
        build_model("cnn_lstm", 0)
    with pytest.raises(ConfigError, match="d_model"):
        build_model("transformer", 4, d_model=30, nhead=4)


def _pair() -> tuple[TransformerClassifier, TransformerClassifier]:
    torch.manual_seed(1)
    plain = TransformerClassifier(6, d_model=16, nhead=4, num_layers=2, dropout=0.0)
    biased = TransformerClassifier(
        6, d_model=16, nhead=4, num_layers=2, dropout=0.0, use_financial_attention=True
    )
    missing, unexpected = biased.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all("raw_slope" in k for k in missing)
    return plain.eval(), biased.eval()


def test_financial_attention_changes_outputs_and_learns_its_slopes() -> None:
    plain, biased = _pair()
    x = torch.randn(3, 20, 6)
    assert not torch.allclose(plain(x), biased(x), atol=1e-4)
    # With zero slopes the bias vanishes and both models agree: the bias is the only change.
    with torch.no_grad():
        for bias in biased.biases:
            bias.raw_slope.fill_(-40.0)  # softplus(-40) ~ 4e-18
    torch.testing.assert_close(plain(x), biased(x), atol=1e-5, rtol=1e-5)
    biased.train()
    biased(x).sum().backward()
    assert all(
        b.raw_slope.grad is not None and b.raw_slope.grad.abs().sum() > 0 for b in biased.biases
    )


def test_recency_bias_is_minus_slope_times_distance() -> None:
    bias = RecencyBias(nhead=2)
    mask = bias(batch=3, length=4)
    assert mask.shape == (6, 4, 4)
    slopes = torch.nn.functional.softplus(bias.raw_slope)
    torch.testing.assert_close(mask[1, 0, 3], -slopes[1] * 3)
    torch.testing.assert_close(mask[2], mask[0])  # same heads repeated per batch element
    assert torch.all(mask[:, range(4), range(4)] == 0)
