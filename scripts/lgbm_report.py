"""Both lgbm variants side by side, per symbol, and the top features by gain, from a registry.

Reads every published ``lgbm`` version of each symbol (``metrics.json``: validation and
test scores next to the majority baseline on the same rows, the comparison that chose the
default, gain importances) and prints Markdown tables: one row per symbol and variant, the
row-weighted totals per variant, and the ``--top`` features of the default variant by
share of total gain (averaged over symbols; the pooled model has one ranking).

    python scripts/lgbm_report.py --registry registry-2022 [--top 20]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a plain script from anywhere
    sys.path.insert(0, str(REPO_ROOT))

from models.cli import UsageError, run_cli  # noqa: E402
from models.predictors.booster import best_round, booster_from_state  # noqa: E402
from models.registry import ModelRegistry  # noqa: E402


def _rows(registry: ModelRegistry) -> list[dict[str, Any]]:
    rows = []
    for symbol in sorted(registry.list_models()):
        if "lgbm" not in registry.list_models()[symbol]:
            continue
        for version in registry.versions(symbol, "lgbm"):
            art = registry.load(symbol, "lgbm", version)
            m = art.metrics
            rows.append(
                {
                    "symbol": symbol,
                    "variant": art.config["variant"],
                    "default": m["comparison"]["default"] == art.config["variant"],
                    "m": m,
                    "rounds": best_round(booster_from_state(art.state_dict)),
                }
            )
    return rows


def _fmt(m: dict[str, Any], part: str) -> str:
    own, base = m[part], m["baselines"][part]["majority"]
    return (
        f"{own['log_loss']:.4f} | {base['log_loss']:.4f} | "
        f"{own['accuracy']:.3f} | {base['accuracy']:.3f}"
    )


def _totals(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        m, s = r["m"], sums[r["variant"]]
        for part in ("val", "test"):
            n = m["samples"][part]
            s[f"{part}_n"] += n
            s[f"{part}_ll"] += n * m[part]["log_loss"]
            s[f"{part}_base"] += n * m["baselines"][part]["majority"]["log_loss"]
            s[f"{part}_acc"] += n * m[part]["accuracy"]
            s[f"{part}_base_acc"] += n * m["baselines"][part]["majority"]["accuracy"]
    return {v: {k: s[k] / s[f"{k.split('_')[0]}_n"] for k in s} for v, s in sums.items()}


def _top(rows: list[dict[str, Any]], top: int) -> list[tuple[str, float]]:
    shares: dict[str, float] = defaultdict(float)
    chosen = [r for r in rows if r["default"]]
    for r in chosen:
        ranked = r["m"]["feature_importance"]["ranked"]
        total = sum(g for _, g in ranked) or 1.0
        for name, gain in ranked:
            shares[name] += gain / total / len(chosen)
    return sorted(shares.items(), key=lambda p: -p[1])[:top]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--registry", required=True)
    p.add_argument("--top", type=int, default=20)
    args = p.parse_args(argv)
    rows = _rows(ModelRegistry(args.registry))
    if not rows:
        raise UsageError(f"--registry: no lgbm model in {args.registry}")
    head = "val LL | val prior LL | val acc | val majority acc"
    print(f"| symbol | variant | {head} | {head.replace('val', 'test')} | rounds |")
    print("|---|---|" + "---:|" * 9)
    for r in rows:
        name = r["variant"] + (" (default)" if r["default"] else "")
        m = r["m"]
        print(f"| {r['symbol']} | {name} | {_fmt(m, 'val')} | {_fmt(m, 'test')} | "
              f"{r['rounds']} |")  # fmt: skip
    print("\nAll symbols' rows together (row-weighted):\n")
    print("| variant | val LL | val prior LL | val acc | val majority acc | test LL "
          "| test prior LL | test acc | test majority acc |")  # fmt: skip
    print("|---|" + "---:|" * 8)
    for v, t in sorted(_totals(rows).items()):
        print(f"| {v} | {t['val_ll']:.4f} | {t['val_base']:.4f} | {t['val_acc']:.3f} | "
              f"{t['val_base_acc']:.3f} | {t['test_ll']:.4f} | {t['test_base']:.4f} | "
              f"{t['test_acc']:.3f} | {t['test_base_acc']:.3f} |")  # fmt: skip
    print(f"\nTop {args.top} features of the default variant by share of total gain:\n")
    print("| rank | feature | gain share |\n|---:|---|---:|")
    for i, (name, share) in enumerate(_top(rows, args.top), 1):
        print(f"| {i} | `{name}` | {share:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
