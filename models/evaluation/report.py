"""Write an :class:`~models.evaluation.run.Evaluation` to a folder: report.md, CSVs, PNGs.

The Markdown is generated from the tables only: every number in it is in a CSV next to it,
and nothing is written by hand, so a rerun on other data or models gives an equally honest
report. Interpretation belongs in the folder's README, written by a person.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from models.evaluation import learned_tables, plots
from models.evaluation.book_report import book_section
from models.evaluation.bootstrap import BLOCK_BARS
from models.evaluation.claims import Claim
from models.evaluation.ic_difference import DRAWS
from models.evaluation.markdown import cell, pct, table
from models.evaluation.replay import ALL_VARIANTS, MEMBERS_MEAN, ORIGINAL
from models.evaluation.run import Evaluation
from models.evaluation.tables import POOLED
from models.predictors.registry import predictor_names, trained_names

FMT = {
    "coverage": ".1%",
    "accuracy": ".3f",
    "win_rate": ".3f",
    "false_signal_rate": ".3f",
    "hit_rate": ".3f",
    "pt_stat": ".2f",
    "pt_pvalue": ".3f",
    "ic": "+.3f",
    "icir": "+.2f",
    "ic_weeks": "d",
    "score_pt_stat": "+.2f",
    "score_pt_pvalue": ".3f",
    "log_loss": ".3f",
    "brier": ".3f",
    "ece": ".3f",
    "signal_rate": ".3f",
    "false_per_1000": ".0f",
    "signals": "d",
    "false_signals": "d",
    "sharpe": "+.2f",
    "total_return": "+.1%",
    "annual_return": "+.1%",
    "max_drawdown": ".1%",
    "turnover": ".3f",
    "exposure": ".1%",
    "sharpe_percentile": ".0f",
    "accuracy_percentile": ".0f",
    "null_sharpe_p95": "+.2f",
    "bars": "d",
    "symbols": "d",
}


def write_report(evaluation: Evaluation, out: Path, command: str) -> list[Path]:
    """Write CSVs, plots and ``report.md`` into ``out``; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in evaluation.tables.items():
        path = out / f"{name}.csv"
        df.write_csv(path, float_precision=6)
        written.append(path)
    claims_path = out / "claims.csv"
    _claims_frame(evaluation.claims).write_csv(claims_path, float_precision=6)
    written.append(claims_path)
    scores_path = out / "proper_scores.csv"
    _proper_scores(evaluation).write_csv(scores_path, float_precision=6)
    written.append(scores_path)
    written += _plots(evaluation, out)
    report = out / "report.md"
    report.write_text(render(evaluation, command))
    written.append(report)
    return written


def _claims_frame(claims: Mapping[str, Sequence[Claim]]) -> pl.DataFrame:
    rows = []
    for ensemble, measured in claims.items():
        for c in measured:
            key = {"ensemble": ensemble, "claim": c.key, "original": c.original}
            for item, value in c.details.items():
                rows.append({**key, "item": item, "value": str(value)})
            rows.append({**key, "item": "measured", "value": str(c.measured)})
    return pl.DataFrame(rows)


def _proper_scores(ev: Evaluation) -> pl.DataFrame:
    service = f"{ev.service_variant.name}_unfiltered"
    return learned_tables.proper_scores(ev.tables["classification"], service, _members(ev))


def _members(ev: Evaluation) -> list[str]:
    kinds = dict(ev.tables["classification"].select("strategy", "kind").unique().iter_rows())
    return [s for s, k in kinds.items() if k == "predictor"]


def _highlight(evaluation: Evaluation) -> list[str]:
    """Strategies drawn in the figures: predictors, the service ensemble, two baselines."""
    svc = evaluation.service_variant.name
    kinds = dict(
        evaluation.tables["classification"].select("strategy", "kind").unique().iter_rows()
    )
    predictors = [s for s, k in kinds.items() if k == "predictor"]
    order = [*predictor_names("rule"), *trained_names()]
    predictors.sort(key=lambda s: order.index(s) if s in order else len(order))
    return [
        *predictors,
        MEMBERS_MEAN.name,
        f"{svc}_filtered",
        f"{svc}_unfiltered",
        "sma_cross",
        "buy_and_hold",
    ]


def _plots(evaluation: Evaluation, out: Path) -> list[Path]:
    names = _highlight(evaluation)
    cost = evaluation.config.headline_cost
    calib = evaluation.tables["calibration"]
    # Filtering changes which signals are traded, not the probabilities: one curve per ensemble.
    prob_names = [n for n in names if n not in ("sma_cross", "buy_and_hold")]
    prob_names = [n for n in prob_names if not n.endswith("_unfiltered")]
    weights = learned_tables.mean_weights(evaluation.results, evaluation.service_variant.name)
    drawn = [plots.weights_plot(weights, out / "weights.png")] if weights else []
    return [
        *drawn,
        plots.equity_curves(evaluation.results, names, cost, out / "equity.png"),
        plots.calibration_plot(calib, prob_names, "reliability", out / "reliability.png"),
        plots.calibration_plot(calib, prob_names, "confidence_decile", out / "confidence.png"),
    ]


def _pooled(df: pl.DataFrame, regime: str = "all") -> pl.DataFrame:
    return df.filter((pl.col("symbol") == POOLED) & (pl.col("regime") == regime))


def headline(evaluation: Evaluation, names: Sequence[str] | None = None) -> pl.DataFrame:
    """Pooled, all-regime figures per strategy: forecast quality, trading, null percentile."""
    cost = evaluation.config.headline_cost
    cls = _pooled(evaluation.tables["classification"])
    trade = _pooled(evaluation.tables["strategy"]).filter(pl.col("cost_bps") == cost)
    null = evaluation.tables["null"].filter(
        (pl.col("symbol") == POOLED) & (pl.col("cost_bps") == cost)
    )
    df = cls.join(
        trade.select("strategy", "sharpe", "total_return", "max_drawdown", "turnover"),
        on="strategy",
    ).join(null.select("strategy", "sharpe_percentile", "accuracy_percentile"), on="strategy")
    if names is not None:
        df = df.filter(pl.col("strategy").is_in(list(names)))
    return df


def render(evaluation: Evaluation, command: str) -> str:
    """The whole Markdown report."""
    sections = [
        _intro(evaluation, command),
        _headline_section(evaluation),
        _ranking_section(evaluation),
        _learned_section(evaluation),
        _books(evaluation),
        _claims_section(evaluation),
        _variants_section(evaluation),
        _symbols_section(evaluation),
        _regime_section(evaluation),
        _figures_section(evaluation),
        _method_section(evaluation),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def _intro(ev: Evaluation, command: str) -> str:
    cfg = ev.config
    costs = ", ".join(f"{c:g}" for c in cfg.costs_bps)
    lines = [
        "# Walk-forward evaluation",
        "",
        f"Generated by `{command}`. Horizon {cfg.horizon} bars; costs {costs} bps per unit "
        f"of position change; {cfg.draws} null draws per strategy. Every number "
        "below is in the CSV files beside this report.",
        "",
        "| symbol | first bar | last bar | bars | why it starts there | models (version) | notes |",
        "|:---|:---|:---|---:|:---|:---|:---|",
    ]
    for r in ev.results:
        ts = r.outcomes.timestamps
        models = ", ".join(f"{m} ({v})" if v else m for m, v in r.models.items())
        if r.combiner:
            models += f"; combiner ({r.combiner})"
        lines.append(
            f"| {r.symbol} | {str(ts[0])[:16]} | {str(ts[-1])[:16]} | {len(ts)} | "
            f"{r.period.reason} | {models} | {'; '.join(r.notes) or '-'} |"
        )
    return "\n".join(lines)


def _headline_section(ev: Evaluation) -> str:
    cost = ev.config.headline_cost
    names = _highlight(ev)
    kinds = ("predictor", "baseline")
    df = headline(ev).filter(pl.col("kind").is_in(kinds) | pl.col("strategy").is_in(names))
    cols = [
        "strategy",
        "coverage",
        "accuracy",
        "accuracy_percentile",
        "signals",
        "win_rate",
        "false_signal_rate",
        "false_per_1000",
        "hit_rate",
        "pt_stat",
        "pt_pvalue",
        "ic",
        "log_loss",
        "brier",
        "ece",
        "sharpe",
        "sharpe_percentile",
        "total_return",
        "max_drawdown",
        "turnover",
    ]
    return "\n".join(
        [
            f"## Headline: pooled over symbols, whole period, {cost:g} bps",
            "",
            "`accuracy_percentile` / `sharpe_percentile`: where the strategy falls among "
            "random strategies with its own exposure and holding periods (50 = luck, > 95 = "
            "unlikely to be luck). `pt_stat` / `pt_pvalue`: Pesaran-Timmermann test of the "
            "signals' direction (one-sided). Blank cells: not defined (no signals, or a hard "
            "rule without probabilities).",
            "",
            table(df, cols, FMT),
        ]
    )


def _ranking_names(ev: Evaluation) -> list[str]:
    """Members, ``members_mean``, the service ensemble and its cold start, the base rate."""
    svc = ev.service_variant.name
    members = [n for n in _highlight(ev) if n in _members(ev)]
    cold = [f"{v.name}_unfiltered" for v in ALL_VARIANTS if v.name.endswith("_cold")]
    return [*members, MEMBERS_MEAN.name, f"{svc}_unfiltered", *cold, "majority"]


def _in_order(df: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
    """The rows of ``df`` whose strategy is one of ``names``, in that order."""
    order = {n: i for i, n in enumerate(names)}
    return df.filter(pl.col("strategy").is_in(list(names))).sort(
        pl.col("strategy").replace_strict(order)
    )


def _ic_difference_lines(ev: Evaluation, names: Sequence[str]) -> list[str]:
    """Each ranked strategy's pooled IC minus the service's on the same bars, with its
    block-bootstrap standard error (``ic_difference.csv``)."""
    diff = ev.tables.get("ic_difference")
    if diff is None or diff.height == 0:
        return []
    shown = _in_order(diff, names)
    cols = ["strategy", "bars", "ic", "service_ic", "minus_service", "difference_se", "p_value"]
    fmt = {
        "bars": "d",
        "ic": "+.4f",
        "service_ic": "+.4f",
        "minus_service": "+.4f",
        "difference_se": ".4f",
        "p_value": ".3f",
    }
    return [
        "",
        f"IC against the service's (`{ev.service_variant.name}`) on the bars both scored, "
        f"pooled: the difference and its standard error over {DRAWS} moving-block "
        f"bootstrap draws ({BLOCK_BARS}-bar blocks per symbol, the same rows for both), "
        "two-sided p (`ic_difference.csv`, `models/evaluation/ic_difference.py`):",
        "",
        table(shown, cols, fmt),
    ]


def _ranking_section(ev: Evaluation) -> str:
    """IC, ICIR and sign tests pooled and per symbol; accuracy and return by score decile."""
    names = _ranking_names(ev)
    cls = ev.tables["classification"].filter(pl.col("regime") == "all")
    pooled = _in_order(_pooled(cls), names)
    cols = [
        "strategy",
        "ic",
        "icir",
        "ic_weeks",
        "score_pt_stat",
        "score_pt_pvalue",
        "pt_stat",
        "pt_pvalue",
        "log_loss",
        "ece",
    ]
    per_symbol = (
        cls.filter(pl.col("strategy").is_in(names))
        .pivot(on="strategy", index="symbol", values="ic")
        .sort(pl.col("symbol") == POOLED, "symbol")
    )
    shown = [n for n in names if n in per_symbol.columns]
    deciles = ev.tables["score_deciles"]
    lines = [
        "## Ranking: IC, ICIR and sign tests (pooled)",
        "",
        "`ic`: Spearman of the score `P(up) - P(down)` with the forward return; `icir`: the "
        "weekly IC's mean over its standard deviation (`ic_weeks` weeks); `score_pt_*`: "
        "Pesaran-Timmermann test of the score's sign on every covered bar; `pt_*`: the same "
        "test on the directional calls only (`models/evaluation/ranking.py`). "
        f"`{MEMBERS_MEAN.name}`: each trained member's score standardized causally and "
        "averaged with equal weights, through the same kind of calibration map.",
        "",
        table(pooled, cols, FMT),
        "",
        "IC per symbol:",
        "",
        table(per_symbol, ["symbol", *shown], dict.fromkeys(shown, "+.3f")),
        *_ic_difference_lines(ev, names),
    ]
    for name in (f"{ev.service_variant.name}_unfiltered", MEMBERS_MEAN.name):
        rows = deciles.filter(pl.col("strategy") == name) if deciles.height else deciles
        if rows.height == 0:
            continue
        lines += [
            "",
            f"`{name}` by decile of its score (Spearman of decile with accuracy "
            f"{cell(rows['rho_accuracy'][0], '+.3f')}, with mean return "
            f"{cell(rows['rho_return'][0], '+.3f')}):",
            "",
            table(
                rows,
                ["bin", "lower", "upper", "count", "accuracy", "mean_return"],
                {"lower": "+.3f", "upper": "+.3f", "accuracy": ".3f", "mean_return": "+.5f"},
            ),
        ]
    return "\n".join(lines)


def _books(ev: Evaluation) -> str:
    book = ev.tables.get("book")
    if book is None:
        return ""
    return book_section(book, ev.service_variant.name, ev.config.book_costs_bps)


def _claims_section(ev: Evaluation) -> str:
    lines = ["## The original's claims, measured", ""]
    for ensemble, claims in ev.claims.items():
        lines += [f"### With `{ensemble}`", ""]
        for c in claims:
            lines.append(f'- **"{c.original}"** -> measured: {c.verdict}.')
            for key, value in c.details.items():
                shown = (
                    pct(value)
                    if isinstance(value, float) and ("_vs_" in key or "rate" in key)
                    else cell(value, ".3f" if isinstance(value, float) else None)
                )
                lines.append(f"  - `{key}`: {shown}")
        lines.append("")
    lines.append(
        f"The service ensemble is `{ev.service_variant.name}`; `{ORIGINAL.name}` is the "
        "`original` preset (the system this replaces: static weights 0.4/0.3/0.2/0.1, "
        "confidence-weighted voting, hand-set regime multipliers, threshold 0.70)."
    )
    return "\n".join(lines)


def _learned_section(ev: Evaluation) -> str:
    """Proper scores, calibration, deciles, actionable signals and weights of the service."""
    svc = ev.service_variant.name
    scores = _proper_scores(ev)
    deciles, rho = learned_tables.confidence_deciles(ev.tables["calibration"], f"{svc}_unfiltered")
    test = learned_tables.hit_rate_test(ev.results, svc, seed=ev.config.seed)
    costs = [c for c in ev.config.costs_bps if c > 0]
    returns = learned_tables.returns_table(ev.tables["strategy"], svc, costs)
    score_cols = [
        "symbol",
        "ensemble_log_loss",
        "majority_log_loss",
        "members_mean_log_loss",
        "best_member",
        "best_member_log_loss",
        "minus_majority",
        "minus_best_member",
        "ece",
        "ic",
    ]
    fmt = {c: ".4f" for c in score_cols if "log_loss" in c}
    fmt.update({"minus_majority": "+.4f", "minus_best_member": "+.4f", "ece": ".4f", "ic": "+.3f"})
    return "\n".join(
        [
            f"## The service ensemble (`{svc}`): proper score, calibration, actionable signals",
            "",
            "Log loss per symbol against the majority (base-rate) forecaster and the best "
            "member on the same bars (`proper_scores.csv`); ECE of the top-class probability "
            "(10 equal-width bins).",
            "",
            table(scores, score_cols, fmt),
            "",
            f"Accuracy by decile of the ensemble's confidence (Spearman of decile with "
            f"accuracy: {cell(rho, '+.3f')}):",
            "",
            table(
                deciles,
                ["bin", "lower", "upper", "count", "mean_value", "accuracy"],
                {"lower": ".3f", "upper": ".3f", "mean_value": ".3f", "accuracy": ".3f"},
            ),
            "",
            f"Actionable signals: {test.filtered_signals} with a sign hit rate of "
            f"{cell(test.filtered_hit_rate, '.3f')} (block-bootstrap s.e. "
            f"{cell(test.filtered_se, '.3f')}), against {test.unfiltered_signals} unfiltered "
            f"directional calls at {cell(test.unfiltered_hit_rate, '.3f')}; difference "
            f"s.e. {cell(test.difference_se, '.3f')}, one-sided p = "
            f"{cell(test.p_value, '.3f')} ({BLOCK_BARS}-bar blocks, "
            "overlapping 4-bar outcomes stay in one block).",
            "",
            table(
                returns,
                ["cost_bps", "strategy", "total_return", "sharpe", "max_drawdown"],
                {"cost_bps": "g", "total_return": "+.1%", "sharpe": "+.2f", "max_drawdown": ".1%"},
            ),
            "",
            "![weights](weights.png)",
            "",
            "Each member's signed, normalised weight in the combined score at the bar a "
            "signal was made (mean over symbols, weekly moving average).",
        ]
    )


def _variants_section(ev: Evaluation) -> str:
    names = [
        f"{v.name}_{s}" if v.kind == "ensemble" else v.name
        for v in ALL_VARIANTS
        for s in ("filtered", "unfiltered")
    ]
    df = headline(ev, names)
    cols = [
        "strategy",
        "accuracy",
        "signals",
        "win_rate",
        "false_signal_rate",
        "false_per_1000",
        "ic",
        "sharpe",
        "sharpe_percentile",
        "max_drawdown",
    ]
    return "\n".join(
        [
            "## Ensemble variants (pooled)",
            "",
            "`ens_learned`: the service default, started from the combiner published with the "
            "models; `_cold`: the same started from its prior; `members_mean`: equal weights "
            "(unfiltered calls); `ens_original`: the original preset. "
            "`filtered` trades only actionable signals; `unfiltered` trades every eligible "
            "one. Outcomes reach the ensembles only after their horizon, as in the live loop.",
            "",
            table(df, cols, FMT),
        ]
    )


def _symbols_section(ev: Evaluation) -> str:
    cost = ev.config.headline_cost
    names = _highlight(ev)
    cls = ev.tables["classification"].filter(
        (pl.col("regime") == "all") & pl.col("strategy").is_in(names)
    )
    trade = ev.tables["strategy"].filter((pl.col("regime") == "all") & (pl.col("cost_bps") == cost))
    df = cls.join(
        trade.select("strategy", "symbol", "sharpe", "total_return"), on=["strategy", "symbol"]
    )
    df = df.sort(pl.col("symbol") == POOLED, "symbol", "strategy")
    cols = [
        "symbol",
        "strategy",
        "bars",
        "accuracy",
        "win_rate",
        "signals",
        "ic",
        "sharpe",
        "total_return",
    ]
    return "\n".join([f"## Per symbol ({cost:g} bps)", "", table(df, cols, FMT)])


def _regime_section(ev: Evaluation) -> str:
    cost = ev.config.headline_cost
    names = _highlight(ev)
    cls = ev.tables["classification"].filter(
        (pl.col("symbol") == POOLED) & pl.col("strategy").is_in(names) & (pl.col("regime") != "all")
    )
    trade = ev.tables["strategy"].filter(
        (pl.col("symbol") == POOLED) & (pl.col("cost_bps") == cost)
    )
    df = cls.join(trade.select("strategy", "regime", "sharpe"), on=["strategy", "regime"]).sort(
        "regime", "strategy"
    )
    cols = ["regime", "strategy", "bars", "accuracy", "signals", "win_rate", "ic", "ece", "sharpe"]
    return "\n".join(
        [
            f"## By regime (pooled, {cost:g} bps)",
            "",
            "The regime detected at the bar the signal was issued. Per-symbol regime slices are "
            "in `classification.csv` and `strategy.csv`.",
            "",
            table(df, cols, FMT),
        ]
    )


def _figures_section(ev: Evaluation) -> str:
    return "\n".join(
        [
            "## Figures",
            "",
            "![equity](equity.png)",
            "",
            f"Equal-weight book after {ev.config.headline_cost:g} bps per unit traded.",
            "",
            "![reliability](reliability.png) ![confidence](confidence.png)",
            "",
            "Left: stated probability of the predicted class against how often it happened. "
            "Right: 3-class accuracy by decile of each strategy's own confidence (what the "
            "confidence filter thresholds).",
        ]
    )


def _method_section(ev: Evaluation) -> str:
    return "\n".join(
        [
            "## Method",
            "",
            "- Bars: each symbol from the later of one year before its last candle and the bar "
            "after the last bar any evaluated model was trained or validated on "
            "(`models/evaluation/period.py`).",
            "- Labels: the training labels (forward log return over the horizon against "
            "0.4 x trailing volatility x sqrt(h)); a win is a realized class equal to the "
            "signal's direction, a false signal anything else (`models/evaluation/scoring.py`).",
            "- Replay: predictions per bar computed once, with only bars up to that bar; the "
            "ensemble learns an outcome only at the first bar h intervals later "
            "(`models/evaluation/replay.py`).",
            "- Trading: position in {-1, 0, +1} from the signal at bar t held over t -> t+1, "
            "costs per unit of position change; pooled as an equal-weight book "
            "(`models/evaluation/strategy.py`, `pooling.py`); Sharpe annualised with 8,760 bars.",
            "- Null: the strategy's own runs of positions (and of predicted classes) in random "
            f"order, {ev.config.draws} seeded draws (`models/evaluation/null.py`).",
            f"- Run time: {ev.seconds.get('symbols', math.nan):.0f} s for the symbols, "
            f"{ev.seconds.get('scoring', math.nan):.0f} s scoring, "
            f"{ev.seconds.get('book', math.nan):.0f} s books.",
        ]
    )
