"""Durable serving state (pure SQLite, no Ray): candles, predictions, tracker state."""

from models.store.predictions import StoredPrediction
from models.store.serving import STATE_KEY, ServingState
from models.store.store import StateStore, now_us

__all__ = ["STATE_KEY", "ServingState", "StateStore", "StoredPrediction", "now_us"]
