"""Tune, evaluate and publish the trained models of every symbol: ``python scripts/train.py``.

For each symbol and network a Ray Tune search (ASHA on validation loss, a checkpoint every
epoch, retries of failed trials) picks the best epoch of the best trial, scores it on the
test split next to naive baselines on the same rows, and publishes it to the registry.
``lgbm`` (gradient-boosted trees) is searched per symbol and pooled across symbols; the
variant with the lower validation log loss becomes the default. Ends with a summary table,
then fits the learned ensemble's combiner on the members' held-out bars and publishes it
beside them (``--no-combiner`` skips that; ``scripts/fit_combiner.py`` runs it alone).
``--resume`` continues an interrupted run of the same ``--name``.

    python scripts/train.py --symbols BTCUSDT ETHUSDT --small --num-samples 2 --max-epochs 3
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from models.cli import UsageError, run_cli  # noqa: E402
from models.data.paths import default_data_dir  # noqa: E402
from models.predictors.registry import (  # noqa: E402
    load_target,
    predictor_entry,
    predictor_names,
    trained_names,
)

if TYPE_CHECKING:  # imported lazily below: --help and usage errors must not load torch/Ray
    from models.training.summary import SummaryRow
    from models.training.tune_trial import TrialSetup

MODELS = trained_names()
"""Every predictor that is trained per symbol (the predictor registry's trained kinds)."""
NETWORKS = predictor_names("neural")
TREES = predictor_names("tree")


def _number(kind: type, low: float, *, strict: bool = False) -> Callable[[str], float]:
    """argparse type: a ``kind`` number >= low (> low when ``strict``); bad -> usage error."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"not a{'n integer' if kind is int else ' number'}: {text!r}"
            ) from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(
                f"must be {'>' if strict else '>='} {low:g}, got {text}"
            )
        return value

    return parse


def _fraction(text: str) -> float:
    value = _number(float, 0.0)(text)
    if value >= 1.0:
        raise argparse.ArgumentTypeError(f"must be below 1, got {text}")
    return value


POS_INT, NONNEG_INT = _number(int, 1), _number(int, 0)


def _data_options(p: argparse._ArgumentGroup) -> None:
    p.add_argument("--data", type=Path, default=None, help="candle file or directory")
    p.add_argument("--symbols", nargs="+", default=None, help="default: every file found")
    p.add_argument("--max-rows", type=POS_INT, default=None, help="only the last N candles")
    p.add_argument("--start", default=None, help="first candle time (ISO, UTC)")
    p.add_argument("--end", default=None, help="candles before this time (ISO, UTC)")
    p.add_argument("--horizon", type=POS_INT, default=4, help="label horizon in bars")
    p.add_argument("--val-frac", type=_fraction, default=0.15)
    p.add_argument("--test-frac", type=_fraction, default=0.15)


def _search_options(p: argparse._ArgumentGroup) -> None:
    p.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    p.add_argument("--num-samples", type=POS_INT, default=4, help="trials per symbol and model")
    p.add_argument("--small", action="store_true", help="small networks (CPU-only machines)")
    p.add_argument("--max-epochs", type=POS_INT, default=10)
    p.add_argument("--patience", type=NONNEG_INT, default=3, help="early-stopping epochs")
    p.add_argument("--batch-size", type=POS_INT, default=256)
    p.add_argument("--max-batches-per-epoch", type=POS_INT, default=None, help="cap steps")
    p.add_argument("--grace-period", type=POS_INT, default=1, help="ASHA: epochs before stopping")
    p.add_argument("--reduction-factor", type=_number(int, 2), default=2, help="ASHA rate")
    p.add_argument("--seed", type=NONNEG_INT, default=0, help="training and search seed")


def _tree_options(p: argparse._ArgumentGroup) -> None:
    p.add_argument(
        "--lgbm-variant",
        choices=("auto", "per_symbol", "pooled"),
        default="auto",
        help="auto: train both, the lower validation log loss is the default",
    )
    p.add_argument("--lgbm-threads", type=POS_INT, default=1, help="OpenMP threads per fit")
    p.add_argument("--lgbm-max-rounds", type=POS_INT, default=1000, help="boosting rounds cap")


def _run_options(p: argparse._ArgumentGroup) -> None:
    p.add_argument("--cpus-per-trial", type=_number(float, 0.0, strict=True), default=1.0)
    p.add_argument("--gpus-per-trial", type=_number(float, 0.0), default=0.0, help="fractional ok")
    p.add_argument("--max-concurrent-trials", type=POS_INT, default=None)
    p.add_argument("--max-failures", type=NONNEG_INT, default=2, help="retries of a failed trial")
    p.add_argument("--storage", default=str(REPO_ROOT / "ray_results"), help="path or s3://...")
    p.add_argument("--name", default="smartmarket", help="run name under --storage")
    p.add_argument("--registry", default=str(REPO_ROOT / "registry"), help="path or s3://...")
    p.add_argument("--resume", action="store_true", help="continue the experiments of --name")
    p.add_argument("--address", default=os.environ.get("RAY_ADDRESS"), help="existing cluster")
    p.add_argument("--num-cpus", type=POS_INT, default=None, help="CPUs of a local Ray instance")
    p.add_argument("--summary-md", type=Path, default=None, help="also write Markdown here")
    p.add_argument("--no-combiner", action="store_true", help="do not fit and publish the combiner")
    p.add_argument("--combiner-jobs", type=POS_INT, default=2, help="symbols fitted in parallel")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Defaults: --data models.data.paths.default_data_dir(); --address $RAY_ADDRESS, "
        "else a local Ray instance. See docs/training.md.",
    )
    _data_options(parser.add_argument_group("data"))
    _search_options(parser.add_argument_group("search"))
    _tree_options(parser.add_argument_group("lgbm (gradient-boosted trees)"))
    _run_options(parser.add_argument_group("resources, storage and resume"))
    return parser


def _setup(args: argparse.Namespace, data: Path, symbol: str, model: str) -> TrialSetup:
    from models.labels import LabelConfig
    from models.training.tune_trial import TrialSetup

    return TrialSetup(
        data_path=str(data),
        symbol=symbol,
        model=model,
        label=LabelConfig(horizon=args.horizon).to_dict(),
        val_frac=args.val_frac,
        test_frac=args.test_frac,
        start=args.start,
        end=args.end,
        max_rows=args.max_rows,
        max_epochs=args.max_epochs,
        patience=args.patience,
        batch_size=args.batch_size,
        max_batches_per_epoch=args.max_batches_per_epoch,
        seed=args.seed,
        gpus=args.gpus_per_trial,
    )


def build_setups(args: argparse.Namespace) -> list[TrialSetup]:
    """One :class:`TrialSetup` per (symbol, model), after checking the data is usable."""
    data = (args.data or default_data_dir()).expanduser().resolve()
    if not data.exists():
        raise UsageError(f"--data: {data} does not exist")
    if args.val_frac + args.test_frac >= 1:
        raise UsageError("--val-frac + --test-frac must be below 1")
    # Imported here, not at the top: usage errors and --help answer without loading torch/Ray.
    from models.data.loader import load_market_data
    from models.errors import InsufficientDataError
    from models.training.tune_space import longest_window
    from models.training.tune_trial import load_trial_data

    symbols = [s.upper() for s in args.symbols] if args.symbols else None
    found = load_market_data(data, symbols=symbols)  # names unknown symbols, bad files
    setups = []
    networks = [m for m in args.models if m in NETWORKS]
    for symbol in found if networks else ():
        for model in networks:
            setups.append(_setup(args, data, symbol, model))
        # fail now, not inside every trial, when the bounded data is too short to split
        try:
            load_trial_data(setups[-1], longest_window(small=args.small))
        except InsufficientDataError as exc:
            raise UsageError(
                f"{symbol}: too few candles (see --max-rows/--start/--end): {exc}"
            ) from None
    return setups


def build_tree_jobs(args: argparse.Namespace) -> dict[str, Any]:
    """Name -> training job of every tree kind asked for (before Ray starts), each built the
    way its registry entry says (``prepare``, with its ``leader``'s candles)."""
    trees = [m for m in args.models if m in TREES]
    if not trees:
        return {}
    from models.errors import DataValidationError, InsufficientDataError
    from models.training.tree_jobs import TreeRequest, prepare_tree_jobs

    request = TreeRequest(
        data=(args.data or default_data_dir()).expanduser().resolve(),
        symbols=tuple(s.upper() for s in args.symbols) if args.symbols else None,
        start=args.start,
        end=args.end,
        max_rows=args.max_rows,
        horizon=args.horizon,
        val_frac=args.val_frac,
        test_frac=args.test_frac,
        seed=args.seed,
        options=vars(args),
    )
    try:
        return prepare_tree_jobs(trees, request)
    except (DataValidationError, InsufficientDataError) as exc:
        raise UsageError(str(exc)) from None


def start_ray(args: argparse.Namespace) -> float:
    """Connect to ``--address`` or start a local instance; the GPUs per trial to request."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    import ray

    if args.address:
        ray.init(address=args.address)
        return args.gpus_per_trial  # an autoscaling cluster may add GPU nodes on demand
    ray.init(num_cpus=args.num_cpus, include_dashboard=False)
    cpus = ray.cluster_resources().get("CPU", 0)
    if args.cpus_per_trial > cpus:
        raise UsageError(f"--cpus-per-trial {args.cpus_per_trial:g} exceeds the {cpus:g} CPUs")
    if args.gpus_per_trial and not ray.cluster_resources().get("GPU"):
        print(
            f"no GPU on this machine: trials asked for {args.gpus_per_trial:g} GPU "
            "run on CPU instead",
            flush=True,
        )
        return 0.0
    return args.gpus_per_trial


def _trainer(model: str) -> Callable[..., SummaryRow]:
    """The registry entry's trainer: tunes and publishes one (symbol, model)."""
    return load_target(predictor_entry(model).trainer or "")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from models.training.summary import format_markdown, format_summary
    from models.training.tune import TuneOptions, existing_experiments

    setups = build_setups(args)
    tree_jobs = build_tree_jobs(args)
    options = dict(
        storage=args.storage,
        name=args.name,
        num_samples=args.num_samples,
        cpus_per_trial=args.cpus_per_trial,
        max_failures=args.max_failures,
        grace_period=args.grace_period,
        reduction_factor=args.reduction_factor,
        max_concurrent_trials=args.max_concurrent_trials,
        small=args.small,
        search_seed=args.seed,
        resume=args.resume,
    )
    checked = TuneOptions(**options, gpus_per_trial=args.gpus_per_trial)  # before Ray starts
    existing = existing_experiments(setups, checked)
    if existing and not args.resume:
        raise UsageError(
            f"run {args.name!r} already has experiments ({existing[0]}, ...): pass --resume "
            "to continue it or --name for a new run"
        )
    started = time.perf_counter()
    gpus = start_ray(args)
    opts = TuneOptions(**options, gpus_per_trial=gpus)
    rows = [_trainer(setup.model)(setup, opts, args.registry) for setup in setups]
    for name, job in tree_jobs.items():  # one job over every symbol per tree kind
        rows += _trainer(name)(job, opts, args.registry)
    print(f"\nTraining summary ({time.perf_counter() - started:.0f}s)")
    print(format_summary(rows), flush=True)
    if args.summary_md:
        args.summary_md.write_text(format_markdown(rows) + "\n")
    failed = [f"{r.symbol}/{r.model}" for r in rows if r.error]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    if not args.no_combiner:
        fit_combiner(args, sorted({r.symbol for r in rows}))
    return 0


def fit_combiner(args: argparse.Namespace, symbols: list[str]) -> None:
    """Fit and publish the combiner of the trained symbols (their members changed)."""
    from models.evaluation.combiner_fit import fit_and_publish

    data = (args.data or default_data_dir()).expanduser().resolve()
    print("\nFitting the combiner on the members' held-out bars", flush=True)
    versions = fit_and_publish(data, args.registry, symbols, args.horizon, args.combiner_jobs)
    for symbol, version in sorted(versions.items()):
        print(f"{symbol} combiner {version}", flush=True)


if __name__ == "__main__":
    sys.exit(run_cli(main))
