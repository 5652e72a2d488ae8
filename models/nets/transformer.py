"""Transformer encoder over a window of feature vectors, with optional recency-biased attention.

Pre-norm encoder layers (stabler to train from scratch than post-norm), sinusoidal positions,
mean pooling over time and a 3-class head. With ``use_financial_attention`` every layer adds
a learned per-head bias ``-slope_h * |i - j|`` to its attention scores (ALiBi with learned
slopes): heads can learn to look mostly at recent bars or spread over the whole window, which
suits price series where the last few bars usually matter most.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import nn

from models.errors import ConfigError
from models.nets.searchable import SearchableNetwork


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    """The (length, d_model) sine/cosine table of "Attention is all you need"."""
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(1e4) / d_model))
    table = torch.zeros(length, d_model)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div[: d_model // 2])
    return table


class RecencyBias(nn.Module):
    """Per-head additive attention bias ``-slope_h * |i - j|`` with learned positive slopes."""

    def __init__(self, nhead: int) -> None:
        super().__init__()
        # ALiBi's geometric slopes as the starting point; softplus keeps them positive.
        start = torch.tensor([2.0 ** (-8.0 * (h + 1) / nhead) for h in range(nhead)])
        self.raw_slope = nn.Parameter(torch.log(torch.expm1(start)))
        self.nhead = nhead

    def forward(self, batch: int, length: int) -> torch.Tensor:
        """A float mask of shape (batch * nhead, length, length) for ``nn.MultiheadAttention``."""
        idx = torch.arange(length, device=self.raw_slope.device)
        distance = (idx[None, :] - idx[:, None]).abs().to(self.raw_slope.dtype)
        slopes = nn.functional.softplus(self.raw_slope)
        bias = -slopes[:, None, None] * distance[None]
        return bias.repeat(batch, 1, 1)


class TransformerClassifier(SearchableNetwork):
    """(batch, seq_len, n_features) -> (batch, 3) logits."""

    runs_in_bf16: bool = True
    """Every layer accepts bf16 weights and activations (used for CPU inference)."""
    search_depths: ClassVar[dict[str, tuple[int, ...]]] = {"full": (2, 4, 6), "small": (1, 2)}
    """Encoder layers the Tune search samples (``models.training.tune_space``), per preset."""

    @staticmethod
    def search_hparams(width: int, depth: int, dropout: float) -> dict[str, Any]:
        """Keyword hparams for the Tune search's architecture-neutral ``width`` and ``depth``."""
        nhead = 8 if width >= 128 else 4
        if width % nhead or width % 2:
            raise ConfigError(f"width: {width} must be even and divisible by {nhead} heads")
        return {"d_model": width, "nhead": nhead, "num_layers": depth, "dropout": dropout}

    def __init__(
        self,
        n_features: int,
        *,
        d_model: int = 256,
        nhead: int = 8,
        num_layers: int = 6,
        dim_feedforward: int | None = None,
        dropout: float = 0.1,
        use_financial_attention: bool = False,
        n_classes: int = 3,
    ) -> None:
        super().__init__()
        if d_model % nhead or d_model % 2:
            raise ConfigError(f"d_model: {d_model} must be even and divisible by nhead={nhead}")
        self.input = nn.Linear(n_features, d_model)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d_model,
                nhead,
                dim_feedforward=dim_feedforward or 4 * d_model,
                dropout=dropout,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            for _ in range(num_layers)
        )
        self.biases = (
            nn.ModuleList(RecencyBias(nhead) for _ in range(num_layers))
            if use_financial_attention
            else None
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(d_model, n_classes))
        self.d_model = d_model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        pos = sinusoidal_positions(length, self.d_model).to(device=x.device, dtype=x.dtype)
        h = self.input(x) + pos
        for i, layer in enumerate(self.layers):
            mask = None
            if self.biases is not None:
                mask = self.biases[i](batch, length).to(h.dtype)
            h = layer(h, src_mask=mask)
        logits: torch.Tensor = self.head(self.norm(h).mean(dim=1))
        return logits
