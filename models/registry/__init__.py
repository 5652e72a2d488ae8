"""Versioned model registry on a local disk or an object store (through ``pyarrow.fs``)."""

from models.registry.registry import ModelArtifact, ModelRegistry

__all__ = ["ModelArtifact", "ModelRegistry"]
