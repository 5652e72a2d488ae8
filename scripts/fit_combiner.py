"""Fit the learned combiner on the trained members' held-out bars and publish it.

``scripts/train.py`` does this after training; run it alone to refit a registry whose
members changed (or that predates published combiners). Per symbol, the bars after the
members' training labels up to the end of their validation windows are replayed with the
evaluation's code; the fits are pooled and published as model ``combiner`` of each symbol,
versioned with the member versions they were fitted on (docs/architecture.md).

    python scripts/fit_combiner.py --registry registry [--symbols BTCUSDT ETHUSDT]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from models.cli import UsageError, run_cli  # noqa: E402
from models.data.paths import default_data_dir  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="candle directory")
    parser.add_argument("--registry", default=str(REPO_ROOT / "registry"), help="model registry")
    parser.add_argument("--symbols", nargs="+", help="default: every symbol with a trained model")
    parser.add_argument("--horizon", type=int, default=4, help="label horizon in bars")
    parser.add_argument("--jobs", type=int, default=2, help="symbols fitted in parallel")
    parser.add_argument("--ensemble-config", type=Path, help="ensemble YAML (default: service's)")
    parser.add_argument("--dry-run", action="store_true", help="fit and print, publish nothing")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data = (args.data or default_data_dir()).expanduser().resolve()
    if not data.exists():
        raise UsageError(f"--data: {data} does not exist")
    if args.horizon < 1 or args.jobs < 1:
        raise UsageError(f"--horizon and --jobs: must be >= 1, got {args.horizon}, {args.jobs}")
    config = None
    if args.ensemble_config is not None:
        from models.ensemble import EnsembleConfig

        config = EnsembleConfig.from_yaml(args.ensemble_config).to_dict()
    from models.evaluation.combiner_fit import fit_and_publish  # heavy: after the checks

    started = time.perf_counter()
    symbols = [s.upper() for s in args.symbols] if args.symbols else None
    versions = fit_and_publish(
        data, args.registry, symbols, args.horizon, args.jobs, config, not args.dry_run
    )
    for symbol, version in sorted(versions.items()):
        print(f"{symbol} combiner {version}")
    print(f"fitted {len(versions)} symbols in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
