"""Pooling: concatenated forecasts and the equal-weight book."""

from __future__ import annotations

import numpy as np

from models.evaluation.pooling import Book, concat_signals
from models.evaluation.signals import hard_signals


def stamps(hours: list[int]) -> np.ndarray:
    return np.array(hours, dtype="datetime64[h]").astype("datetime64[us]")


def test_book_averages_the_symbols_present_at_each_timestamp():
    book = Book.of([stamps([0, 1, 2]), stamps([1, 2, 3])])
    out = book.mean_returns([np.array([0.1, 0.2, 0.3]), np.array([0.5, 0.6, 0.7])])
    np.testing.assert_allclose(out, [0.1, (0.2 + 0.5) / 2, (0.3 + 0.6) / 2, 0.7])


def test_book_slices_keep_only_masked_bars_and_draw_rows():
    book = Book.of([stamps([0, 1]), stamps([0, 1])])
    masks = [np.array([True, False]), np.array([False, False])]
    out = book.mean_returns([np.array([1.0, 2.0]), np.array([3.0, 4.0])], masks)
    np.testing.assert_allclose(out, [1.0])  # hour 1 has no symbol in the slice
    draws = [np.array([[1.0, 2.0], [5.0, 6.0]]), np.array([[3.0, 4.0], [7.0, 8.0]])]
    np.testing.assert_allclose(book.mean_returns(draws), [[2.0, 3.0], [6.0, 7.0]])


def test_concat_signals_drops_probabilities_unless_all_parts_have_them():
    a = hard_signals("x", np.array([1, 0]))
    b = hard_signals("x", np.array([-1]))
    both = concat_signals([a, b])
    assert both.direction.tolist() == [1, 0, -1] and both.probabilities is None
    assert both.position.tolist() == [1, 0, -1]
