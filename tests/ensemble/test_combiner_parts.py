"""The learned combiner's parts on their own: standardizer, shrunk regression, calibration map."""

from __future__ import annotations

import numpy as np
import pytest

from models.ensemble.calibration_map import CalibrationMap
from models.ensemble.regression import ShrunkRegression
from models.ensemble.standardize import Standardizer, member_scores


def _vector(lean: float, flat: float = 0.4) -> tuple[float, float, float]:
    rest = 1.0 - flat
    return (rest * (0.5 - lean / 2), flat, rest * (0.5 + lean / 2))


def test_z_scores_use_the_trailing_moments_of_learned_outputs_only():
    std = Standardizer(half_life=50, min_weight=20, clip=5)
    rng = np.random.default_rng(0)
    leans = rng.uniform(-0.5, 0.5, 200)
    for lean in leans[:19]:
        std.update("m", _vector(lean), "v1")
    assert std.z("m", _vector(0.1), "v1").startswith("warming up")  # decayed weight < 20
    for lean in leans[19:]:
        std.update("m", _vector(lean), "v1")
    decay = 0.5 ** (1 / 50)
    w = decay ** np.arange(leans.size)[::-1]
    scores = np.array([member_scores(_vector(v))[0] for v in leans])
    mean = (w * scores).sum() / w.sum()
    var = (w * scores**2).sum() / w.sum() - mean**2
    z, _ = std.z("m", _vector(0.3), "v1")
    assert z == pytest.approx((member_scores(_vector(0.3))[0] - mean) / np.sqrt(var))
    assert std.z("m", _vector(0.3), None) == std.z("m", _vector(0.3), "v1")  # unknown: same
    assert std.z("m", _vector(1.0, flat=0.0), "v1")[0] == 5.0  # clipped


def test_another_model_version_is_left_out_until_its_own_outputs_restart_it():
    std = Standardizer(half_life=50, min_weight=5, clip=5)
    for lean in np.linspace(-0.5, 0.5, 30):
        std.update("m", _vector(lean), "v1")
    assert "version v2 differs from v1" in std.z("m", _vector(0.1), "v2")
    assert std.update("m", _vector(0.1), "v2") is True  # restarted
    assert std.moments["m"].version == "v2" and std.moments["m"].weight == 1.0
    assert std.update("m", _vector(0.2), "v2") is False


def _data(n: int, seed: int, edge: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(edge)))
    y = x @ np.asarray(edge) + 2.0 * rng.normal(size=n)
    return x, y


def test_without_evidence_the_weights_point_along_the_equal_ones():
    reg = ShrunkRegression(("a", "b", "rule"), ("a", "b"), shrinkage=2500, half_life=2000)
    w = reg.coefficients()
    assert w[0] == pytest.approx(w[1]) and w[0] > 0 and w[2] == 0.0
    x, y = _data(400, 0, (0.0, 0.0, 0.0))  # a stretch where the members say nothing
    for row, target in zip(x, y, strict=True):
        reg.update(row, target, weight=0.25)
    w = reg.coefficients()
    assert abs(w[0] - w[1]) < 0.5 * abs(w[0] + w[1])  # still nearer the equal direction


def test_strong_evidence_moves_a_weight_away_from_the_equal_ones():
    reg = ShrunkRegression(("a", "b"), ("a", "b"), shrinkage=200, half_life=1e9)
    x, y = _data(20_000, 1, (0.4, 0.0))
    for row, target in zip(x, y, strict=True):
        reg.update(row, target)
    w = reg.coefficients()
    assert w[0] > 0.3 and abs(w[1]) < 0.05


def test_evidence_adds_up_in_any_order_and_a_fit_becomes_a_prior():
    x, y = _data(600, 2, (0.3, 0.1))
    whole = ShrunkRegression(("a", "b"), ("a", "b"), 2500, 1e12)
    parts = [ShrunkRegression(("a", "b"), ("a", "b"), 2500, 1e12) for _ in range(2)]
    for i, (row, target) in enumerate(zip(x, y, strict=True)):
        whole.update(row, target)
        parts[i % 2].update(row, target)
    pooled = ShrunkRegression(("a", "b"), ("a", "b"), 2500, 1e12)
    pooled.add(parts[1])
    pooled.add(parts[0])
    assert pooled.coefficients() == pytest.approx(whole.coefficients(), rel=1e-9)
    before = pooled.coefficients()
    pooled.adopt_as_prior(count=10**9)
    assert pooled.count == 0.0 and pooled.coefficients() == pytest.approx(before, rel=1e-9)
    restored = ShrunkRegression(("a", "b", "new"), ("a", "b", "new"), 2500, 1e12)
    restored.load_state_dict(pooled.state_dict())
    assert restored.coefficients()[:2] == pytest.approx(before, rel=1e-6)


def test_the_map_is_the_base_rate_at_zero_and_learns_a_tilt():
    cal = CalibrationMap(prior=200, half_life=1e9)
    base = (0.3, 0.4, 0.3)
    assert cal.probabilities(base, (0.0, 0.0)) == pytest.approx(base)
    rng = np.random.default_rng(3)
    for _ in range(20_000):
        s = rng.normal()
        r = 0.3 * s + rng.normal()
        cal.update(base, (s, 0.0), 2 if r > 0.5 else 0 if r < -0.5 else 1)
    coef = cal.coefficients()
    assert coef["contrast"] > 0.2
    up, down = cal.probabilities(base, (1.0, 0.0))[2], cal.probabilities(base, (1.0, 0.0))[0]
    assert up > base[2] > down


def test_the_map_never_turns_the_ranking_upside_down():
    cal = CalibrationMap(prior=200, half_life=1e9)
    rng = np.random.default_rng(4)
    for _ in range(20_000):
        s = rng.normal()
        r = -0.3 * s + rng.normal()  # a score that ranks backwards
        cal.update((0.3, 0.4, 0.3), (s, 0.0), 2 if r > 0.5 else 0 if r < -0.5 else 1)
    assert cal.coefficients()["contrast"] == 0.0
    lo, hi = (cal.probabilities((0.3, 0.4, 0.3), (s, 0.0)) for s in (-1.0, 1.0))
    assert hi[2] - hi[0] == pytest.approx(lo[2] - lo[0])  # no tilt between up and down
