"""Durable storage (plain SQLite, no Ray): candles, predictions, learned state, book rows.

What the service does with them (resolving outcomes, the books) is :mod:`models.serving`.
"""

from models.store.predictions import StoredPrediction
from models.store.store import StateStore

__all__ = ["StateStore", "StoredPrediction"]
