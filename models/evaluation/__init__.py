"""Honest walk-forward evaluation: replay the live loop on unseen bars and score everything.

Entry point: :func:`models.evaluation.run.run_evaluation` (``scripts/evaluate.py``).
One job per module: ``period`` (which bars may be scored), ``predict`` / ``replay``
(predictions per bar, the ensemble's live loop), ``baselines``, ``outcomes`` (the answer
key), ``metrics`` / ``calibration`` / ``strategy`` / ``null`` (the numbers), ``tables`` /
``significance`` / ``claims`` (scored per symbol, pooled, per regime), ``report`` / ``plots``.
"""
