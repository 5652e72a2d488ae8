"""Ray Tune search of the LightGBM model: per symbol and pooled, then the better is the default.

Features are computed once on the driver (:mod:`models.training.tabular`) and handed to the
trials with ``tune.with_parameters`` (one object-store copy, not a recomputation per trial).
Experiments: ``<storage>/<name>/<SYMBOL>-lgbm`` per symbol (trials of one symbol are ranked
against each other only) and ``<storage>/<name>/pooled-lgbm``. A trial fits one booster with
early stopping on validation log loss and reports once, with the booster as its checkpoint;
the best trial's booster is used as is (no retraining). Existing experiments are refused
unless ``resume`` (then restored: finished ones return at once).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from ray import tune
from ray.tune.search import BasicVariantGenerator

from models.errors import ConfigError
from models.predictors.booster import SYMBOL_FEATURE, best_round
from models.training.lgbm import VARIANTS, LgbmConfig, design_matrix, fit_booster, predict_proba
from models.training.lgbm_publish import MODEL, FittedVariant, publish_variants
from models.training.metrics import classification_metrics
from models.training.summary import SummaryRow
from models.training.tabular import TabularData, pool
from models.training.tree_jobs import TreeRequest
from models.training.tune import TuneOptions, was_interrupted

MODEL_FILE = "model.txt"
SEARCH_KEYS: tuple[str, ...] = (
    "num_leaves",
    "learning_rate",
    "min_data_in_leaf",
    "feature_fraction",
    "lambda_l2",
)


def lgbm_search_space(pooled: bool) -> dict[str, Any]:
    """A small space: tree size, step, leaf size, column sampling, L2; pooled: symbol or not."""
    space: dict[str, Any] = {
        "num_leaves": tune.choice([7, 15, 31]),
        "learning_rate": tune.loguniform(0.02, 0.1),
        "min_data_in_leaf": tune.choice([100, 300, 1000]),
        "feature_fraction": tune.uniform(0.5, 0.9),
        "lambda_l2": tune.loguniform(1.0, 100.0),
    }
    if pooled:
        space["symbol_feature"] = tune.choice([True, False])
    return space


@dataclass(frozen=True)
class LgbmJob:
    """What to train: prepared data per symbol, fixed settings, which variants."""

    datasets: Mapping[str, TabularData]
    base: LgbmConfig
    variant: str = "auto"
    provenance: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.variant not in ("auto", *VARIANTS):
            raise ConfigError(f"variant: must be auto or one of {VARIANTS}, got {self.variant!r}")
        if not self.datasets:
            raise ConfigError("symbols: no data to train the lgbm model on")

    @property
    def variants(self) -> tuple[str, ...]:
        return VARIANTS if self.variant == "auto" else (self.variant,)


def prepare_lgbm_job(
    frames: Mapping[str, pl.DataFrame], leader: pl.DataFrame | None, request: TreeRequest
) -> LgbmJob:
    """The lgbm entry's ``prepare``: tree features and splits of every symbol, the variant
    and LightGBM settings from ``request.options`` (``lgbm_variant``, ``lgbm_threads``,
    ``lgbm_max_rounds``; defaults when absent). Too few candles: ``InsufficientDataError``
    naming the symbol."""
    from models.errors import InsufficientDataError
    from models.labels import LabelConfig
    from models.training.tabular import bounded, prepare_tabular_data

    opts = request.options
    if leader is not None:
        leader = bounded(leader, request.start, request.end, None)
    datasets = {}
    for symbol, frame in frames.items():
        try:
            datasets[symbol] = prepare_tabular_data(
                bounded(frame, request.start, request.end, request.max_rows),
                symbol=symbol,
                leader=leader,
                label_cfg=LabelConfig(horizon=request.horizon),
                val_frac=request.val_frac,
                test_frac=request.test_frac,
            )
        except InsufficientDataError as exc:
            raise InsufficientDataError(
                exc.needed, exc.got, reason=f"{symbol}: too few candles for {MODEL}: {exc}"
            ) from None
    base = LgbmConfig(
        max_rounds=int(opts.get("lgbm_max_rounds", LgbmConfig.max_rounds)),
        num_threads=int(opts.get("lgbm_threads", LgbmConfig.num_threads)),
        seed=request.seed,
    )
    variant = str(opts.get("lgbm_variant", "auto"))
    if variant == "auto" and len(datasets) == 1:
        variant = "per_symbol"  # pooling one symbol is the same model with a constant column
    return LgbmJob(datasets, base, variant, request.provenance())


def _sampled_config(config: Mapping[str, Any], base: LgbmConfig) -> LgbmConfig:
    return LgbmConfig.from_dict({**base.to_dict(), **{k: config[k] for k in SEARCH_KEYS}})


def _arrays(datasets: list[TabularData], part: str, symbol_feature: bool) -> tuple[Any, Any]:
    pooled = pool(datasets, part)
    index = pooled.symbol_index if symbol_feature else None
    return design_matrix(pooled.X, index), pooled.y


def lgbm_trial(config: dict[str, Any], datasets: list[TabularData], base: dict[str, Any]) -> None:
    """Tune function trainable: fit one sampled configuration, report its validation loss."""
    cfg = _sampled_config(config, LgbmConfig.from_dict(base))
    with_symbol = bool(config.get("symbol_feature", False))
    names = list(datasets[0].feature_names) + ([SYMBOL_FEATURE] if with_symbol else [])
    train = _arrays(datasets, "train", with_symbol)
    val = _arrays(datasets, "val", with_symbol)
    booster = fit_booster(train, val, cfg, names)
    metrics = classification_metrics(val[1], predict_proba(booster, val[0]))
    with tempfile.TemporaryDirectory() as tmp:
        booster.save_model(str(Path(tmp) / MODEL_FILE), num_iteration=best_round(booster))
        tune.report(
            {
                "val_loss": metrics["log_loss"],
                "val_acc": metrics["accuracy"],
                "best_iteration": best_round(booster),
            },
            checkpoint=tune.Checkpoint.from_directory(tmp),
        )


def _tuner(name: str, datasets: list[TabularData], job: LgbmJob, options: TuneOptions) -> Any:
    trainable = tune.with_resources(
        tune.with_parameters(lgbm_trial, datasets=datasets, base=job.base.to_dict()),
        {"cpu": options.cpus_per_trial},
    )
    path = f"{options.storage_uri}/{options.name}/{name}"
    if tune.Tuner.can_restore(path):
        if not options.resume:
            raise ConfigError(f"storage: experiment {path} already exists; pass --resume")
        return tune.Tuner.restore(path, trainable, resume_errored=True)
    return tune.Tuner(
        trainable,
        param_space=lgbm_search_space(pooled=len(datasets) > 1 or name.startswith("pooled")),
        tune_config=tune.TuneConfig(
            metric="val_loss",
            mode="min",
            search_alg=BasicVariantGenerator(random_state=options.search_seed),
            num_samples=options.num_samples,
            max_concurrent_trials=options.max_concurrent_trials,
        ),
        run_config=tune.RunConfig(
            name=name,
            storage_path=f"{options.storage_uri}/{options.name}",
            failure_config=tune.FailureConfig(max_failures=options.max_failures),
            verbose=0,
        ),
    )


def _best_booster(grid: Any, name: str) -> tuple[Any, dict[str, Any]]:
    """The booster and provenance of the trial with the lowest validation loss."""
    import lightgbm

    try:
        best = grid.get_best_result(metric="val_loss", mode="min", filter_nan_and_inf=True)
    except RuntimeError:  # Tune's "no trial reported val_loss"
        best = None
    if best is None or best.checkpoint is None or best.error is not None:
        errors = [str(e).strip().splitlines()[-1] for e in grid.errors if str(e).strip()]
        raise ConfigError(f"{name}: no usable trial ({errors[0] if errors else 'no result'})")
    with best.checkpoint.as_directory() as directory:
        booster = lightgbm.Booster(model_file=str(Path(directory) / MODEL_FILE))
    cfg = best.config
    info = {
        "params": _sampled_config(cfg, LgbmConfig()).to_dict(),
        "search": {k: cfg[k] for k in (*SEARCH_KEYS, "symbol_feature") if k in cfg},
        "experiment": str(best.path).rsplit("/", 1)[0],
        "trial_id": str(best.metrics.get("trial_id")),
        "best_val_loss": float(best.metrics["val_loss"]),
        "trials": len(grid),
    }
    return booster, info


def _search(name: str, datasets: list[TabularData], job: LgbmJob, options: TuneOptions) -> Any:
    started = time.perf_counter()
    grid = _tuner(name, datasets, job, options).fit()
    if was_interrupted(f"{options.storage_uri}/{options.name}/{name}"):
        print(f"[{name}] interrupted; continue with --resume", flush=True)
        raise KeyboardInterrupt  # publish nothing, as the networks' searches
    booster, info = _best_booster(grid, name)
    print(f"[{name}] best val_loss {info['best_val_loss']:.4f} of {info['trials']} trials")
    return booster, info, time.perf_counter() - started


def _per_symbol(job: LgbmJob, options: TuneOptions) -> FittedVariant:
    boosters, sampled, seconds = {}, {}, {}
    for symbol, data in job.datasets.items():
        booster, info, took = _search(f"{symbol}-{MODEL}", [data], job, options)
        boosters[symbol], sampled[symbol], seconds[symbol] = booster, info, took
    trials = max(int(s["trials"]) for s in sampled.values())
    return FittedVariant(
        "per_symbol", boosters, False, tuple(job.datasets), sampled, seconds, trials
    )


def _pooled(job: LgbmJob, options: TuneOptions) -> FittedVariant:
    symbols = tuple(job.datasets)
    booster, info, took = _search(f"pooled-{MODEL}", list(job.datasets.values()), job, options)
    with_symbol = bool(info["search"].get("symbol_feature", False))
    share = took / len(symbols)
    return FittedVariant(
        "pooled",
        dict.fromkeys(symbols, booster),
        with_symbol,
        symbols,
        dict.fromkeys(symbols, info),
        dict.fromkeys(symbols, share),
        int(info["trials"]),
    )


def tune_lgbm(job: LgbmJob, options: TuneOptions, registry_root: str) -> list[SummaryRow]:
    """Search the requested variants, publish them (default last), return the summary rows."""
    search = {"per_symbol": _per_symbol, "pooled": _pooled}
    fitted = [search[v](job, options) for v in job.variants]
    return publish_variants(fitted, job.datasets, registry_root, dict(job.provenance or {}))
