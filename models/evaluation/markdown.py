"""Markdown tables from polars frames, with per-column number formats and blanks for NaN."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

Format = str
"""A ``str.format`` spec such as ``".3f"``, ``".1%"`` or ``"d"``."""


def cell(value: Any, fmt: Format | None = None) -> str:
    """One cell: ``-`` for missing / NaN, else ``value`` formatted with ``fmt``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if fmt is None:
        return str(value)
    return format(value, fmt)


def table(
    df: pl.DataFrame,
    columns: Sequence[str],
    formats: Mapping[str, Format] | None = None,
    headers: Mapping[str, str] | None = None,
) -> str:
    """``df[columns]`` as a GitHub Markdown table (numbers right-aligned)."""
    formats = formats or {}
    headers = headers or {}
    head = "| " + " | ".join(headers.get(c, c) for c in columns) + " |"
    align = "|" + "|".join("---:" if df.schema[c].is_numeric() else ":---" for c in columns) + "|"
    body = [
        "| " + " | ".join(cell(row[c], formats.get(c)) for c in columns) + " |"
        for row in df.select(columns).iter_rows(named=True)
    ]
    return "\n".join([head, align, *body])


def pct(value: float | None, digits: int = 1) -> str:
    """``0.123`` -> ``12.3%`` (``-`` when missing)."""
    return cell(value, f".{digits}%")
