"""Prefix-replay check shared by every causality test.

A computation is causal when running it on the first ``k`` bars gives exactly the first
``k`` rows of running it on more bars. This helper runs ``compute`` on the full frame and on
several prefixes and compares the requested columns row for row (NaN equals NaN).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import polars as pl


def assert_prefix_causal(
    compute: Callable[[pl.DataFrame], pl.DataFrame],
    frame: pl.DataFrame,
    prefix_lengths: Iterable[int],
    columns: Sequence[str] | None = None,
) -> None:
    """Fail with the first differing (column, row) if ``compute`` looks ahead."""
    full = compute(frame)
    cols = list(columns) if columns is not None else full.columns
    assert cols, "no columns to check"
    for k in prefix_lengths:
        part = compute(frame.head(k))
        assert part.height == k, f"prefix {k}: got {part.height} rows"
        for col in cols:
            a = part[col]
            b = full[col].head(k)
            if a.dtype.is_numeric() or a.dtype == pl.Boolean:
                x = a.cast(pl.Float64).to_numpy()
                y = b.cast(pl.Float64).to_numpy()
                same = (x == y) | (np.isnan(x) & np.isnan(y))
            else:
                same = np.array((a == b).fill_null(a.is_null() & b.is_null()).to_list(), dtype=bool)
            if not same.all():
                row = int(np.argmin(same))
                raise AssertionError(
                    f"column {col!r} differs at row {row} between prefix {k} and the full frame: "
                    f"{a[row]!r} != {b[row]!r}"
                )
