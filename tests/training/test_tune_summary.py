"""The summary table: every row and baseline appears, aligned, in text and Markdown."""

from __future__ import annotations

import math

import pytest

from models.training.summary import Scores, SummaryRow, format_markdown, format_summary


def _row(symbol: str = "BTCUSDT", **kw) -> SummaryRow:
    base = {
        "model": "transformer",
        "trials": 2,
        "val_loss": 1.0712,
        "val_accuracy": 0.4123,
        "test": Scores(accuracy=0.40, macro_f1=0.35, log_loss=1.08),
        "baselines": {
            "momentum": Scores(0.33, 0.30),
            "majority": Scores(0.42, 0.197, 1.09),
            "always_flat": Scores(0.42, 0.197),
        },
        "n_test": 1234,
        "version": "v3",
        "seconds": 125.4,
    }
    base.update(kw)
    return SummaryRow(symbol=symbol, **base)


def test_scores_from_metrics_accepts_loss_or_log_loss():
    assert Scores.from_metrics({"accuracy": 0.5, "macro_f1": 0.4, "loss": 1.1}).log_loss == 1.1
    scores = Scores.from_metrics({"accuracy": 0.5, "macro_f1": 0.4, "log_loss": 0.9, "x": 3})
    assert scores == Scores(0.5, 0.4, 0.9)
    assert Scores.from_metrics({"accuracy": 0.5, "macro_f1": 0.4}).log_loss is None


def test_edge_is_test_accuracy_minus_best_baseline():
    assert _row().edge() == pytest.approx(0.40 - 0.42)
    assert _row(baselines={}).edge() is None
    assert _row(test=None).edge() is None


def test_text_table_has_every_value_and_baselines_in_fixed_order():
    text = format_summary([_row(), _row("ETHUSDT", model="cnn_lstm", version="v1", seconds=9)])
    lines = text.splitlines()
    assert len(lines) == 4
    header = lines[0]
    assert header.index("majority acc/F1/LL") < header.index("always_flat acc/F1")
    assert "always_flat acc/F1/LL" not in header  # hard-label baselines have no log loss
    assert header.index("always_flat acc/F1") < header.index("momentum acc/F1")
    assert "0.400" in lines[2] and "0.350" in lines[2] and "1.080" in lines[2]
    assert "0.420/0.197/1.090" in lines[2] and "0.330/0.300" in lines[2]
    assert "-0.020" in lines[2] and "2m05s" in lines[2] and "v3" in lines[2]
    assert lines[3].startswith("ETHUSDT") and "cnn_lstm" in lines[3] and "9s" in lines[3]
    # aligned: the last column (time) is right-aligned, so every line ends at the same place
    assert len({len(line) for line in lines}) == 1


def test_failed_row_shows_error_and_dashes():
    row = SummaryRow(symbol="SOLUSDT", model="cnn_lstm", error="all trials errored", seconds=3)
    text = format_summary([_row(), row])
    last = text.splitlines()[-1]
    assert "FAILED: all trials errored" in last
    assert last.count(" - ") >= 3


def test_non_finite_numbers_render_as_dash():
    text = format_summary([_row(val_loss=math.nan, test=Scores(0.4, 0.3, math.inf))])
    assert "nan" not in text and "inf" not in text


def test_markdown_table_shape():
    md = format_markdown([_row(), _row("ETHUSDT")]).splitlines()
    assert len(md) == 4
    widths = {line.count("|") for line in md}
    assert len(widths) == 1
    assert md[1].startswith("| --- | --- | ---:")
    assert "| BTCUSDT | transformer | 2 | 1.071 | 0.412 | 0.400 |" in md[2]
