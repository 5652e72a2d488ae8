"""Walk-forward evaluation of every predictor, the ensemble and baselines on real candles.

Replays the evaluation period bar by bar as the live service would (predictions from past
bars only, ensemble outcomes fed back after their horizon), scores everything per symbol,
pooled and per regime, and writes report.md, CSV tables and PNG figures to --out.
Models are only ever scored on bars after the data they were trained and validated on.

    python scripts/evaluate.py                       # all symbols, last year, docs/evaluation
    python scripts/evaluate.py --quick --out /tmp/ev # smoke test: 2 symbols, 3 weeks
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from models.cli import UsageError, run_cli
from models.data.paths import REPO_ROOT, default_data_dir
from models.evaluation.period import parse_utc
from models.evaluation.settings import EvaluationConfig

DEFAULT_OUT = REPO_ROOT / "docs" / "evaluation"
DEFAULT_REGISTRY = REPO_ROOT / "registry"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data_dir(), help="candle directory")
    parser.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY, help="model registry")
    parser.add_argument("--symbols", nargs="+", help="symbols (default: every file in --data)")
    parser.add_argument("--start", help="first bar (ISO, UTC); default: see the report")
    parser.add_argument("--end", help="end of the period, exclusive (ISO, UTC); default: data end")
    parser.add_argument("--costs-bps", nargs="+", type=float, default=[0.0, 5.0, 10.0])
    parser.add_argument(
        "--book-costs-bps",
        nargs="+",
        type=float,
        default=[0.0, 4.0, 10.0],
        help="round-trip costs of the trading book (book.csv)",
    )
    parser.add_argument("--trading-config", type=Path, help="trading YAML (default: service's)")
    parser.add_argument("--horizon", type=int, default=4, help="label horizon in bars")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--quick", action="store_true", help="2 symbols, 3 weeks, 50 draws")
    parser.add_argument("--jobs", type=int, default=2, help="symbols evaluated in parallel")
    parser.add_argument("--draws", type=int, default=200, help="random-null draws per strategy")
    parser.add_argument("--seed", type=int, default=0, help="seed of the null draws")
    parser.add_argument("--ensemble-config", type=Path, help="ensemble YAML (default: service's)")
    parser.add_argument("--device", default="cpu", help="torch device of the networks")
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> EvaluationConfig:
    """Validate the arguments into an :class:`EvaluationConfig` (UsageError when wrong)."""
    if not args.data.exists():
        raise UsageError(f"--data: {args.data} does not exist")
    if args.horizon < 1:
        raise UsageError(f"--horizon: must be >= 1, got {args.horizon}")
    if args.jobs < 1 or args.draws < 1:
        raise UsageError(f"--jobs and --draws: must be >= 1, got {args.jobs} and {args.draws}")
    if any(c < 0 for c in args.costs_bps):
        raise UsageError(f"--costs-bps: must be >= 0, got {args.costs_bps}")
    if any(c < 0 for c in args.book_costs_bps):
        raise UsageError(f"--book-costs-bps: must be >= 0, got {args.book_costs_bps}")
    start = parse_utc(args.start, "--start") if args.start else None
    end = parse_utc(args.end, "--end") if args.end else None
    if start is not None and end is not None and start >= end:
        raise UsageError(f"--start {args.start} is not before --end {args.end}")
    trading = None
    if args.trading_config is not None:
        from models.trading import TradingSettings

        trading = TradingSettings.from_yaml(args.trading_config).model_dump()
        if trading["horizon_bars"] != args.horizon:
            raise UsageError(
                f"--trading-config: horizon_bars {trading['horizon_bars']} is not --horizon "
                f"{args.horizon}"
            )
    ensemble = None
    if args.ensemble_config is not None:
        from models.ensemble import EnsembleConfig

        ensemble = EnsembleConfig.from_yaml(args.ensemble_config).to_dict()
    return EvaluationConfig(
        data=args.data,
        registry=args.registry,
        symbols=tuple(s.upper() for s in args.symbols) if args.symbols else None,
        start=start,
        end=end,
        costs_bps=tuple(args.costs_bps),
        horizon=args.horizon,
        jobs=args.jobs,
        draws=min(args.draws, 50) if args.quick else args.draws,
        seed=args.seed,
        quick=args.quick,
        ensemble_config=ensemble,
        device=args.device,
        book_costs_bps=tuple(args.book_costs_bps),
        trading=trading if trading is not None else {"horizon_bars": args.horizon},
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    config = build_config(args)
    from models.evaluation.report import headline, write_report  # heavy: after the checks
    from models.evaluation.run import run_evaluation

    evaluation = run_evaluation(config)
    command = "python scripts/evaluate.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    written = write_report(evaluation, args.out, command.strip())
    print(f"wrote {len(written)} files to {args.out}", file=sys.stderr)
    cost = config.headline_cost
    print(f"pooled, whole period, {cost:g} bps: strategy, accuracy, win rate, IC, Sharpe")
    for row in headline(evaluation).iter_rows(named=True):
        values = (row["accuracy"], row["win_rate"], row["ic"], row["sharpe"])
        print(f"{row['strategy']:<52}" + "".join(f"{v:>9.3f}" for v in values))
    print_books(evaluation.tables.get("book"), config.book_costs_bps)
    return 0


def print_books(book: Any, costs: Sequence[float]) -> None:
    """The pooled books at each round-trip cost (``book.csv``)."""
    if book is None or book.is_empty():
        return
    from models.evaluation.book_report import pooled_books

    head = "strategy, book, net return, Sharpe, max drawdown, turnover, trades, bps/trade, p"
    for cost in costs:
        print(f"books, pooled, {cost:g} bps round trip: {head}")
        for r in pooled_books(book, cost).iter_rows(named=True):
            values = (r["net_return"], r["sharpe"], r["max_drawdown"], r["turnover"])
            cells = "".join(f"{v:>9.3f}" for v in values)
            tail = f"{r['trades']:>7d}{r['mean_trade_bps']:>9.1f}{r['p_value']:>7.3f}"
            print(f"{r['strategy']:<28}{r['book']:<8}{cells}{tail}")


if __name__ == "__main__":
    sys.exit(run_cli(main))
