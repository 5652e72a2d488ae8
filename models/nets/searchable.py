"""The class-level contract every registry network keeps for the Tune search.

:mod:`models.training.tune_space` reads a network's ``search_depths`` and calls its
``search_hparams`` through :data:`models.predictors.networks.NETWORKS`; a shared base class lets
that map be typed by what it is used for instead of as any ``nn.Module``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn


class SearchableNetwork(nn.Module):
    """A network (window of feature vectors -> 3 logits) that the Tune search can size."""

    search_depths: ClassVar[dict[str, tuple[int, ...]]]
    """Depths (layers) the Tune search samples, per preset (``full``, ``small``)."""

    @staticmethod
    def search_hparams(width: int, depth: int, dropout: float) -> dict[str, Any]:
        """Keyword hparams for the search's architecture-neutral ``width`` and ``depth``."""
        raise NotImplementedError
