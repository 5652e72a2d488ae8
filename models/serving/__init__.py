"""The serving logic without Ray: windows, predictor replies, the fan-out's deadline, batching,
per-symbol trained models, and the answer. ``deployments/`` adapts it to Ray Serve; the
in-process baseline (:mod:`models.serving.inprocess`) runs the same functions in one process.
"""
