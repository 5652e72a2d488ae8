"""Convolutions for local bar patterns, then an LSTM for their order, then a 3-class head.

The 1-D convolutions (``same`` padding, so every time step keeps its place) turn each bar
and its neighbours into ``channels`` pattern detectors; the LSTM reads those in time order
and its last hidden state, which has seen the whole window, feeds the head.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from models.nets.searchable import SearchableNetwork


class CnnLstmClassifier(SearchableNetwork):
    """(batch, seq_len, n_features) -> (batch, 3) logits."""

    runs_in_bf16: bool = False
    """The recurrence needs float32 weights (see :meth:`forward`); on CPU bf16 also gains
    nothing here (batch of 16: 4.2 ms either way)."""
    search_depths: ClassVar[dict[str, tuple[int, ...]]] = {"full": (1, 2, 3), "small": (1, 2)}
    """LSTM layers the Tune search samples (``models.training.tune_space``), per preset."""

    @staticmethod
    def search_hparams(width: int, depth: int, dropout: float) -> dict[str, Any]:
        """Keyword hparams for the Tune search's architecture-neutral ``width`` and ``depth``."""
        return {"channels": width, "hidden": width, "lstm_layers": depth, "dropout": dropout}

    def __init__(
        self,
        n_features: int,
        *,
        channels: int = 64,
        kernel_size: int = 3,
        conv_layers: int = 2,
        hidden: int = 128,
        lstm_layers: int = 2,
        dropout: float = 0.3,
        n_classes: int = 3,
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        in_ch = n_features
        for _ in range(conv_layers):
            blocks += [
                nn.Conv1d(in_ch, channels, kernel_size, padding="same"),
                nn.BatchNorm1d(channels),
                nn.GELU(),
            ]
            in_ch = channels
        self.conv = nn.Sequential(*blocks)
        self.lstm = nn.LSTM(
            in_ch,
            hidden,
            num_layers=lstm_layers,
            batch_first=True,
            dropout=dropout if lstm_layers > 1 else 0.0,
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x.transpose(1, 2)).transpose(1, 2)
        # The recurrence runs in float32 even under bf16 autocast: small errors compound
        # over 64 steps, and cuDNN only gained bf16 RNN kernels in 9.13.
        with torch.autocast(device_type=x.device.type, enabled=False):
            out, _ = self.lstm(h.float())
        logits: torch.Tensor = self.head(out[:, -1])
        return logits
