"""PyTorch networks of the neural predictors (window of feature vectors -> 3 logits)."""

from models.nets.factory import NETWORKS, build_model, default_hparams, hparam_names

__all__ = ["NETWORKS", "build_model", "default_hparams", "hparam_names"]
