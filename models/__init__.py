"""SmartMarket core library: data, features, predictors, regime, ensemble, training, evaluation.

Pure Python (numpy / polars / torch); nothing in this package imports Ray Serve, so every
piece is testable without a cluster. ``deployments/`` adapts it to Ray Serve.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
