"""Training of the neural predictors: prepared data, the one loop, publishing.

Names load their module on first use (:mod:`models.lazy`), so importing the package costs
nothing until a name is used. The labels live below (:mod:`models.labels`). Ray Tune
searches live in the ``tune*`` modules and are imported explicitly by whoever runs one.
"""

from models.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "PreparedData": "dataset",
    "prepare_symbol_data": "dataset",
    "TrainConfig": "loop",
    "TrainResult": "loop",
    "train_model": "loop",
    "evaluate_classifier": "metrics",
    "baseline_metrics": "baselines",
    "publish_result": "artifacts",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
