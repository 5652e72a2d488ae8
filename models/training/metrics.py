"""Classification metrics shared by training, the baselines and the benchmark."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from models.nets.device import autocast
from models.vocabulary import CLASSES

N_CLASSES = len(CLASSES)
"""Classes of the direction labels (down, flat, up)."""


def classification_metrics(y: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """Accuracy, macro F1 (over classes present in ``y`` or predicted) and log loss."""
    y = np.asarray(y, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    if len(y) == 0:
        return {"accuracy": float("nan"), "macro_f1": float("nan"), "log_loss": float("nan")}
    pred = probs.argmax(axis=1)
    p_true = np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0)
    return {
        "accuracy": float(np.mean(pred == y)),
        "macro_f1": macro_f1(y, pred),
        "log_loss": float(-np.mean(np.log(p_true))),
    }


def macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean F1 over the classes that occur in ``y`` or ``pred`` (as scikit-learn's labels)."""
    scores = []
    for c in range(N_CLASSES):
        tp = int(np.sum((pred == c) & (y == c)))
        fp = int(np.sum((pred == c) & (y != c)))
        fn = int(np.sum((pred != c) & (y == c)))
        if tp + fp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else float("nan")


@torch.no_grad()
def predict_proba(
    model: nn.Module,
    X: Any,
    *,
    batch_size: int = 512,
    device: torch.device | None = None,
    use_amp: bool = True,
) -> np.ndarray:
    """Softmax probabilities (n, 3) for array-like windows ``X`` (n, seq_len, features)."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    try:
        for i in range(0, len(X), batch_size):
            xb = torch.as_tensor(np.asarray(X[i : i + batch_size]), device=device)
            with autocast(device, use_amp):
                logits = model(xb)
            out.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
    finally:
        model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, N_CLASSES))


def evaluate_classifier(model: nn.Module, X: Any, y: np.ndarray, **kwargs: Any) -> dict[str, float]:
    """``accuracy``, ``macro_f1`` and ``log_loss`` of ``model`` on windows ``X``, labels ``y``."""
    return classification_metrics(y, predict_proba(model, X, **kwargs))
