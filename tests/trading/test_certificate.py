"""The certificate: a block-bootstrap test of the shadow book's own trades after costs, at
looks whose levels add up to delta; on null data it passes in at most delta of seeds, on a
planted edge it certifies and the paper book ends positive."""

from __future__ import annotations

import numpy as np
import pytest

from models.errors import TradingError
from models.trading import Certificate, CertificateSettings, Desk, TradingSettings
from models.trading.certificate import block_length, bootstrap_pvalue, look_alpha
from models.trading.metrics import book_summary
from models.trading.replay import replay, timeline
from tests.trading.simulate import HOUR_MS, market


def test_bootstrap_pvalue_sees_a_clear_mean_and_not_a_zero_one():
    rng = np.random.default_rng(0)
    assert bootstrap_pvalue(rng.normal(1.0, 1.0, 200), 2000, rng) < 0.001
    assert bootstrap_pvalue(rng.normal(-1.0, 1.0, 200), 2000, rng) > 0.99
    assert bootstrap_pvalue(np.array([5.0]), 100, rng) == 1.0
    nulls = [bootstrap_pvalue(rng.normal(0, 1, 100), 400, rng) for _ in range(300)]
    assert 0.02 < np.mean(np.array(nulls) < 0.1) < 0.2  # roughly uniform under the null


def test_looks_double_and_their_levels_sum_to_delta():
    assert [block_length(n) for n in (1, 8, 30, 1000)] == [1, 2, 3, 10]
    assert sum(look_alpha(k, 0.05, 10) for k in range(1, 200)) == pytest.approx(0.05, rel=1e-9)
    assert look_alpha(1, 0.05, 10) == look_alpha(10, 0.05, 10) == 2 * look_alpha(11, 0.05, 10)
    cert = Certificate(CertificateSettings(scope="symbol", min_trades=10, draws=2000))
    looked = [n for n in range(1, 100) if cert.add("A", 1.0 + (n % 3)) is not None]
    assert looked == [10, 20, 40, 80]
    assert cert.passed("A") and not cert.passed("B")
    assert cert.status("A")["next_look_at"] == 160
    pooled = Certificate(CertificateSettings(min_trades=10, draws=2000))
    for n in range(10):
        pooled.add("AB"[n % 2], 1.0 + (n % 3))
    assert pooled.passed("A") and pooled.passed("C")  # one record: the rule's
    assert pooled.status("C")["trades"] == 10


def test_a_look_can_withdraw_the_certificate():
    cert = Certificate(CertificateSettings(min_trades=10, draws=1000))
    for _ in range(10):
        cert.add("A", 10.0 + np.random.default_rng(1).normal())
    assert cert.passed("A")
    for _ in range(10):
        cert.add("A", -100.0)
    assert not cert.passed("A")


def test_the_verdict_depends_only_on_seed_symbol_and_trades():
    values = np.random.default_rng(2).normal(0.3, 1.0, 40)
    looks = []
    for _ in range(2):
        cert = Certificate(CertificateSettings(min_trades=40, draws=300))
        looks.append([cert.add("A", v) for v in values][-1])
    assert looks[0] == looks[1]


def test_state_round_trips_and_bad_state_is_refused():
    cert = Certificate(CertificateSettings(min_trades=5, draws=100))
    for v in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0):
        cert.add("A", v)
    copy = Certificate(cert.settings)
    copy.load_state_dict(cert.state_dict())
    assert copy.status("A") == cert.status("A")
    with pytest.raises(TradingError, match="certificate state"):
        copy.load_state_dict({"returns": {"A": ["x"]}, "looks": {}})
    with pytest.raises(TradingError, match="not finite"):
        cert.add("A", float("nan"))


NULL_SEEDS = 50
NULL_SYMBOLS = 3


def test_on_null_data_the_certificate_passes_in_at_most_delta_of_seeds():
    # no cost at all, every signal traded: the strictest setting for a false certificate;
    # a first look after 10 trades, so each record is looked at several times. The desk's
    # certificate is the pooled one; the same shadow trades also go to per-symbol ones.
    cert = CertificateSettings(min_trades=10, draws=1000)
    settings = TradingSettings(
        fee_bps=0.0, slippage_bps=0.0, uncertainty_z=0.0, min_outcomes=50, certificate=cert
    )
    pooled, own, looks = 0, 0, 0
    for seed in range(NULL_SEEDS):
        desk = Desk(settings, HOUR_MS)
        per_symbol = Certificate(cert.model_copy(update={"scope": "symbol"}))
        ever: set[str] = set()
        for bar_ms, quotes in timeline(market(1000 + seed, symbols=NULL_SYMBOLS, bars=800)):
            step = desk.step(bar_ms, quotes)
            looks += len(step.looks)
            pooled_passed = any(look.passed for look in step.looks.values())
            ever |= {"*"} if pooled_passed else set()
            for fill in step.fills:
                if fill.book == "shadow" and fill.net_return_bps is not None:
                    look = per_symbol.add(fill.symbol, fill.net_return_bps)
                    ever |= {fill.symbol} if look is not None and look.passed else set()
        pooled += "*" in ever
        own += len(ever - {"*"})
    assert looks > 2 * NULL_SEEDS  # each pooled record was looked at several times
    assert pooled <= cert.delta * NULL_SEEDS
    assert own <= cert.delta * NULL_SEEDS * NULL_SYMBOLS


@pytest.mark.parametrize("seed", [0, 1])
def test_a_planted_edge_certifies_and_the_paper_book_ends_positive(seed):
    settings = TradingSettings()  # 10 bps round trip
    run = replay(settings, HOUR_MS, market(seed, symbols=3, bars=2500, edge=0.15))
    paper = book_summary(run.equity["paper"], run.book_fills("paper"), 1e4, HOUR_MS)
    shadow = book_summary(run.equity["shadow"], run.book_fills("shadow"), 1e4, HOUR_MS)
    assert paper["trades"] > 30 and paper["net_return"] > 0
    assert shadow["p_value"] < 0.01
    assert paper["trades"] < shadow["trades"]  # paper waited for the certificate
