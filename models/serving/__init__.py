"""The serving logic without Ray: windows, predictor replies, the fan-out's deadline, batching,
per-symbol trained models, the answer, and the service state over the store (stored
predictions resolved into outcomes, :mod:`~models.serving.state`; the books,
:mod:`~models.serving.trading_state`; what the read endpoints show, :mod:`~models.serving.views`).
``deployments/`` adapts it to Ray Serve; the in-process baseline
(:mod:`models.serving.inprocess`) runs the same functions in one process.
"""
