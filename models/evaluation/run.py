"""One walk-forward evaluation from settings to tables: plan, run the symbols, score.

Planning happens first, in this process, for every symbol: the registry's data windows
are checked against the requested period, so a forbidden start is refused before any
model runs. Symbols then run in worker processes (``jobs``), and everything is scored here.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from models.data.loader import load_market_data, split_name
from models.ensemble import EnsembleConfig
from models.errors import ConfigError
from models.evaluation.books import book_table
from models.evaluation.claims import Claim, confidence_profile, measure_claims
from models.evaluation.ic_difference import ic_difference_table
from models.evaluation.period import resolve_period
from models.evaluation.pooling import concat_signals
from models.evaluation.replay import ALL_VARIANTS, ORIGINAL, SERVICE, Variant
from models.evaluation.settings import EvaluationConfig
from models.evaluation.significance import null_table
from models.evaluation.sources import RULE_BASED, load_sources
from models.evaluation.symbol_eval import SymbolJob, SymbolResult, evaluate_symbol
from models.evaluation.tables import (
    calibration_table,
    classification_table,
    parts_of,
    score_decile_table,
    strategy_table,
)
from models.predictors.registry import predictor_names
from models.trading import TradingSettings

QUICK_SYMBOLS = 2


@dataclass
class Evaluation:
    """Per-symbol results, the scored tables and the measured claims."""

    config: EvaluationConfig
    results: list[SymbolResult]
    tables: dict[str, pl.DataFrame]
    claims: dict[str, list[Claim]]
    """Ensemble variant name (the original preset, the service's) -> the claims measured."""
    service_variant: Variant
    seconds: dict[str, float] = field(default_factory=dict)


def available_symbols(data: Path) -> list[str]:
    """Symbols with a candle file in directory ``data`` (or the one file's symbol)."""
    if data.is_file():
        return [split_name(data)[0]]
    if not data.is_dir():
        raise ConfigError(f"--data: {data} is neither a file nor a directory")
    return sorted({split_name(f)[0] for f in data.iterdir() if f.is_file()})


def _quick_symbols(symbols: list[str], registry: Path | None, chosen: bool) -> list[str]:
    """The first :data:`QUICK_SYMBOLS`, preferring (unless chosen) those with trained models."""
    if not chosen and registry is not None and registry.is_dir():
        trained = {p.name for p in registry.iterdir() if p.is_dir()}
        symbols = sorted(symbols, key=lambda s: (s not in trained, s))
    return symbols[:QUICK_SYMBOLS]


def service_variant(config: EvaluationConfig) -> Variant:
    """The variant the service runs: its configured ensemble (learned by default), regime on."""
    base = EnsembleConfig.from_dict(config.ensemble_config) if config.ensemble_config else None
    if base is not None and base.mode == "original":
        return Variant("ens_configured_original")
    return SERVICE


def _variants(service: Variant) -> tuple[Variant, ...]:
    """The service's ensemble, its cold start and ``members_mean`` (for the learned default),
    and the original."""
    return ALL_VARIANTS if service == SERVICE else (service, ORIGINAL)


def plan(config: EvaluationConfig, say: Callable[[str], None]) -> list[SymbolJob]:
    """One job per symbol with its period resolved (refusing any that would leak)."""
    symbols = list(config.symbols or available_symbols(config.data))
    if config.quick:
        symbols = _quick_symbols(symbols, config.registry, config.symbols is not None)
    frames = load_market_data(config.data, symbols=symbols)
    jobs = []
    for symbol in symbols:
        src = load_sources(symbol, config.registry, config.horizon, config.device, config.trained)
        period = resolve_period(
            symbol,
            frames[symbol]["timestamp"],
            src.windows,
            config.start,
            config.end,
            config.lookback,
        )
        models = ", ".join(src.specs)
        say(f"{symbol}: {period.rows.size} bars from {period.start:%Y-%m-%d %H:%M}; {models}")
        jobs.append(
            SymbolJob(
                symbol=symbol,
                data_path=str(config.data),
                registry=str(config.registry) if config.registry else None,
                horizon=config.horizon,
                start=period.start,
                end=config.end,
                ensemble_config=config.ensemble_config,
                variants=_variants(service_variant(config)),
                trained=config.trained,
                device=config.device,
                threads=1 if config.jobs > 1 else None,
                reason=period.reason,
                vol_window=TradingSettings.parse(config.trading).vol_window,
            )
        )
    return jobs


def _run_jobs(jobs: Sequence[SymbolJob], workers: int) -> list[SymbolResult]:
    if workers <= 1 or len(jobs) <= 1:
        return [evaluate_symbol(job) for job in jobs]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
        return list(pool.map(evaluate_symbol, jobs))


def run_evaluation(
    config: EvaluationConfig, say: Callable[[str], None] | None = None
) -> Evaluation:
    """Plan, evaluate every symbol, and score everything (progress on stderr)."""
    say = say or (lambda m: print(m, file=sys.stderr, flush=True))
    clock = time.perf_counter()
    jobs = plan(config, say)
    results = _run_jobs(jobs, config.jobs)
    seconds = {"symbols": time.perf_counter() - clock}
    say(f"all symbols done in {seconds['symbols']:.0f}s; scoring")
    clock = time.perf_counter()
    costs = list(config.costs_bps)
    tables = {
        "classification": classification_table(results),
        "strategy": strategy_table(results, costs),
        "calibration": calibration_table(results),
        "score_deciles": score_decile_table(results),
    }
    say(f"scored in {time.perf_counter() - clock:.0f}s; null distributions ({config.draws} draws)")
    tables["null"] = null_table(results, costs, config.draws, config.seed)
    variant = service_variant(config)
    say("IC differences against the service (block bootstrap)")
    tables["ic_difference"] = ic_difference_table(
        results, f"{variant.name}_unfiltered", seed=config.seed
    )
    seconds["scoring"] = time.perf_counter() - clock
    clock = time.perf_counter()
    say(f"books at {', '.join(f'{c:g}' for c in config.book_costs_bps)} bps round trip")
    tables["book"] = _books(config, results, variant)
    seconds["book"] = time.perf_counter() - clock
    claims = {
        name: _claims(config, results, tables, name) for name in (ORIGINAL.name, variant.name)
    }
    return Evaluation(config, results, tables, claims, variant, seconds)


def _books(
    config: EvaluationConfig, results: Sequence[SymbolResult], service: Variant
) -> pl.DataFrame:
    """``book.csv``: the trading layer's books over the period (``models.evaluation.books``)."""
    present = {s.name for r in results for s in r.signals if s.kind == "predictor"}
    members = [name for name in predictor_names() if name in present]
    return book_table(
        results,
        service.name,
        members,
        TradingSettings.parse(config.trading),
        config.book_costs_bps,
        jobs=config.jobs,
        seed=config.seed,
    )


def _claims(
    config: EvaluationConfig,
    results: Sequence[SymbolResult],
    tables: dict[str, pl.DataFrame],
    ensemble: str,
) -> list[Claim]:
    """The original's three claims measured with the ensemble variant ``ensemble``."""
    parts = parts_of(results, f"{ensemble}_unfiltered")
    profile = confidence_profile(concat_signals([p[2] for p in parts])) if parts else {}
    return measure_claims(
        tables["classification"],
        tables["strategy"],
        ensemble,
        [*RULE_BASED, *config.trained],
        config.headline_cost,
        profile,
    )
