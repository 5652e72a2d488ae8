"""Runtime device, thread count and mixed-precision choices (never fixed at import time)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from models.errors import ConfigError


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when present else CPU; anything else as torch understands it."""
    if isinstance(spec, torch.device):
        return spec
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"device: cannot use {spec!r} ({exc})") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device: {spec!r} requested but CUDA is not available")
    return device


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, which containers and Ray narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def configure_threads(num_threads: int | None = None) -> int:
    """Set torch's intra-op threads and return the number used.

    An explicit ``num_threads`` wins; otherwise ``OMP_NUM_THREADS`` (which Ray sets for each
    trial to its CPU share) is respected; otherwise every CPU the process may use.
    """
    if num_threads is None:
        if os.environ.get("OMP_NUM_THREADS"):
            return torch.get_num_threads()
        num_threads = available_cpus()
    if num_threads < 1:
        raise ConfigError(f"num_threads: must be >= 1, got {num_threads}")
    torch.set_num_threads(num_threads)
    return num_threads


PRECISIONS: tuple[str, ...] = ("auto", "float32", "bfloat16")
"""Inference precisions a predictor accepts (see :func:`use_bf16_weights`)."""


def cpu_has_fast_bf16() -> bool:
    """True when this CPU multiplies bf16 matrices in hardware (Intel AMX tiles).

    Only there do bf16 weights pay on CPU: the default Transformer runs a 16-window batch
    about 3.4x faster (76 -> 22 ms on one core); without AMX bf16 is emulated and slower.
    """
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    try:
        return bool(probe()) if probe is not None else False
    except RuntimeError:
        return False


def use_bf16_weights(precision: str, device: torch.device, network_supports_bf16: bool) -> bool:
    """Whether to cast a network's weights to bf16 for inference on ``device``.

    ``float32`` never; ``bfloat16`` on CPU whenever the network runs in bf16; ``auto`` on
    CPU only where bf16 is fast (:func:`cpu_has_fast_bf16`). On CUDA the weights stay fp32
    and :func:`autocast` runs the matrix products in bf16 (``auto`` and ``bfloat16``).
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"precision: must be one of {list(PRECISIONS)}, got {precision!r}")
    if precision == "float32" or device.type != "cpu" or not network_supports_bf16:
        return False
    return precision == "bfloat16" or cpu_has_fast_bf16()


@contextlib.contextmanager
def autocast(device: torch.device, enabled: bool = True) -> Iterator[None]:
    """bf16 autocast on CUDA (no loss scaling needed, unlike fp16); full precision on CPU."""
    if enabled and device.type == "cuda":
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
            yield
    else:
        yield
