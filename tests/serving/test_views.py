"""Read views of stored predictions: schema migration, paging, outcomes, calibration, weights."""

from __future__ import annotations

import json
import sqlite3

import pytest

from models.serving.views import calibration, page, prediction_view, weights_history
from models.store import StateStore, StoredPrediction
from models.store.db import SCHEMA_VERSION

HOUR_US = 3_600_000_000
BAND = 0.01

V1_PREDICTIONS = """CREATE TABLE predictions (
    id TEXT PRIMARY KEY, symbol TEXT NOT NULL, as_of INTEGER NOT NULL,
    horizon_bars INTEGER NOT NULL, entry_close REAL NOT NULL, record TEXT NOT NULL,
    created_at INTEGER NOT NULL, resolved_at INTEGER, realized_return REAL)"""


def _record(direction: int, probs: list[float], threshold: float = 0.6) -> dict:
    return {
        "symbol": "BTCUSDT",
        "model_directions": {},
        "direction": direction,
        "confidence": max(probs),
        "actionable": max(probs) >= threshold,
        "eligible": True,
        "flat_band": BAND,
        "threshold": threshold,
        "bar": 0,
        "regime": "trending",
        "probabilities": probs,
        "expert_probabilities": {},
    }


def _answer(weights: dict[str, float], degraded: dict[str, str] | None = None) -> dict:
    return {
        "signal": "BUY",
        "models": {"smc": {"status": "ok", "weight": 0.5}},
        "experts": {n: {"probabilities": None, "weight": w} for n, w in weights.items()},
        "degraded": bool(degraded),
        "unavailable": degraded or {},
    }


def _pred(i: int, direction: int = 1, probs=(0.1, 0.2, 0.7), answer=None, as_of=None):
    return StoredPrediction(
        id=f"p{i:03d}",
        symbol="BTCUSDT",
        as_of=(i if as_of is None else as_of) * HOUR_US,
        horizon_bars=4,
        entry_close=100.0 + i,
        record=_record(direction, list(probs)),
        created_at=i,
        answer=answer,
    )


def test_version_1_file_is_migrated_and_old_rows_read_without_answer(tmp_path):
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    conn.execute(V1_PREDICTIONS)
    row = ("old", "BTCUSDT", HOUR_US, 4, 100.0, json.dumps(_record(-1, [0.6, 0.3, 0.1])), 1)
    conn.execute("INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?, 9, -0.01)", row)
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    store = StateStore(path)
    version = store._conn.execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION == 3
    old = store.prediction("old")
    assert old is not None and old.answer is None
    view = prediction_view(old)
    assert view["signal"] == "SELL" and view["models"] is None and view["degraded"] is None
    assert view["probabilities"] == {"down": 0.6, "flat": 0.3, "up": 0.1}
    store.add_predictions([_pred(5, answer=_answer({"smc": 1.0}))])
    assert store.prediction("p005").answer == _answer({"smc": 1.0})
    store.close()
    StateStore(path).close()  # reopening a migrated file is a no-op


def test_outcome_label_and_correctness_use_the_stored_band():
    up = StoredPrediction(**{**_pred(1).__dict__, "realized_return": 0.02, "resolved_at": 5})
    flat = StoredPrediction(**{**_pred(2).__dict__, "realized_return": 0.005, "resolved_at": 5})
    assert prediction_view(up)["outcome"]["label"] == "up"
    assert prediction_view(up)["outcome"]["correct"] is True
    assert prediction_view(flat)["outcome"] == {
        **prediction_view(flat)["outcome"],
        "label": "flat",
        "correct": False,
    }
    assert prediction_view(_pred(3))["outcome"] is None


def test_range_paging_walks_every_prediction_once(tmp_path):
    store = StateStore(tmp_path / "s.db")
    store.add_predictions([_pred(i) for i in range(1, 26)])
    seen, until = [], None
    while True:
        rows = store.predictions_in_range("BTCUSDT", 3 * HOUR_US, until, 7 + 1)
        kept, until_us = page(rows, 7)
        seen += [p.id for p in kept]
        if until_us is None:
            break
        until = until_us
    assert sorted(seen) == [f"p{i:03d}" for i in range(3, 26)]
    assert len(seen) == len(set(seen))
    store.close()


def test_a_bar_is_never_split_across_pages():
    rows = [_pred(i, as_of=t) for i, t in enumerate([9, 8, 7, 7, 6])]  # newest first
    kept, until = page(rows[:4], 3)
    assert [p.as_of // HOUR_US for p in kept] == [8, 9] and until == 8 * HOUR_US


def test_calibration_counts_and_accuracy():
    rows = []
    for i, ret in enumerate([0.02, 0.03, -0.02, 0.0]):  # up right, up right, down, flat
        base = _pred(i, probs=(0.1, 0.2, 0.7))
        rows.append(StoredPrediction(**{**base.__dict__, "realized_return": ret, "resolved_at": 9}))
    rows.append(_pred(9))  # pending: not counted
    cal = calibration(rows, threshold=0.6)
    bucket = next(b for b in cal["confidence"] if b["count"])
    assert (cal["resolved"], cal["skipped"], bucket["low"], bucket["count"]) == (4, 1, 0.7, 4)
    assert bucket["accuracy"] == pytest.approx(0.5)
    assert cal["ece"] == pytest.approx(0.2)
    rel = {b["low"]: b for b in cal["reliability"] if b["count"]}
    assert sum(b["count"] for b in rel.values()) == 12  # 3 classes x 4 outcomes
    assert rel[0.7]["frequency"] == pytest.approx(0.5)  # P(up)=0.7: up happened twice in 4
    assert rel[0.1]["frequency"] == pytest.approx(0.25)  # P(down)=0.1: once in 4
    assert calibration([], 0.6)["ece"] is None


def test_weights_history_keeps_order_and_skips_rows_without_experts():
    rows = [_pred(1, answer=_answer({"a": 0.7, "b": 0.3})), _pred(2), _pred(3, answer=None)]
    rows.append(_pred(4, answer=_answer({"a": 0.4, "c": 0.6})))
    history = weights_history(rows)
    assert history["experts"] == ["a", "b", "c"]
    assert [p["weights"] for p in history["points"]] == [{"a": 0.7, "b": 0.3}, {"a": 0.4, "c": 0.6}]
