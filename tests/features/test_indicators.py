"""Indicators against TA-Lib on real candles, prefix-replay causality, and edge cases."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.errors import ConfigError, DataValidationError
from models.features import indicators as ind
from models.features.indicators import INDICATOR_COLUMNS, compute_indicators, ensure_indicators
from tests.causality import assert_prefix_causal

talib = pytest.importorskip("talib")

SYMBOLS = ("BTCUSDT", "DOGEUSDT", "ETHUSDT", "XRPUSDT")

# Rows ignored before comparing: 5x the longest period feeding the column.
WARMUP = {
    "sma_20": 100,
    "ema_12": 60,
    "ema_26": 130,
    "rsi_14": 70,
    "macd": 175,
    "macd_signal": 175,
    "macd_hist": 175,
    "bb_upper": 100,
    "bb_middle": 100,
    "bb_lower": 100,
    "atr_14": 70,
    "adx_14": 140,
    "plus_di_14": 70,
    "minus_di_14": 70,
    "stoch_k": 85,
    "stoch_d": 85,
    "obv": 0,
    "ret_1": 5,
    "log_ret_1": 5,
    "volatility_20": 105,
}


def talib_reference(df: pl.DataFrame) -> dict[str, np.ndarray]:
    """The same column set computed by TA-Lib."""
    h, lo, c, v = (df[k].cast(pl.Float64).to_numpy() for k in ("high", "low", "close", "volume"))
    ref = {"sma_20": talib.SMA(c, 20), "ema_12": talib.EMA(c, 12), "ema_26": talib.EMA(c, 26)}
    ref["rsi_14"] = talib.RSI(c, 14)
    ref["macd"], ref["macd_signal"], ref["macd_hist"] = talib.MACD(c, 12, 26, 9)
    ref["bb_upper"], ref["bb_middle"], ref["bb_lower"] = talib.BBANDS(c, 20, 2.0, 2.0, 0)
    ref["atr_14"] = talib.ATR(h, lo, c, 14)
    ref["adx_14"] = talib.ADX(h, lo, c, 14)
    ref["plus_di_14"] = talib.PLUS_DI(h, lo, c, 14)
    ref["minus_di_14"] = talib.MINUS_DI(h, lo, c, 14)
    ref["stoch_k"], ref["stoch_d"] = talib.STOCH(h, lo, c, 14, 3, 0, 3, 0)
    ref["obv"] = talib.OBV(c, v)
    ref["ret_1"] = talib.ROCR(c, 1) - 1.0
    ref["log_ret_1"] = np.log(talib.ROCR(c, 1))
    log_ret = np.concatenate([[np.nan], np.log(c[1:] / c[:-1])])
    ref["volatility_20"] = talib.STDDEV(log_ret, 20, 1.0)
    return ref


@pytest.fixture(scope="module", params=SYMBOLS)
def computed(request, real_candles) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    df = real_candles(request.param)
    return compute_indicators(df), talib_reference(df)


def test_appends_exactly_the_indicator_columns(btc):
    out = compute_indicators(btc)
    assert out.columns == btc.columns + list(INDICATOR_COLUMNS)
    assert out.height == btc.height
    assert all(out[c].dtype == pl.Float64 for c in INDICATOR_COLUMNS)


@pytest.mark.parametrize("column", INDICATOR_COLUMNS)
def test_matches_talib_on_real_data(computed, column):
    out, ref = computed
    ours, theirs = out[column].to_numpy(), ref[column]
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs), err_msg=f"{column} NaN rows")
    w = WARMUP[column]
    np.testing.assert_allclose(ours[w:], theirs[w:], rtol=1e-6, atol=0, err_msg=column)


@pytest.mark.parametrize("length", [1, 2, 5, 14, 15, 19, 20, 21, 27, 28, 33, 34, 40])
def test_short_inputs_match_talib_warmup(btc, length):
    df = btc.head(length)
    out, ref = compute_indicators(df), talib_reference(df)
    for column in INDICATOR_COLUMNS:
        ours = out[column].to_numpy()
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref[column]), err_msg=column)
        np.testing.assert_allclose(ours, ref[column], rtol=1e-6, err_msg=column)


def test_empty_frame_gives_empty_columns(btc):
    out = compute_indicators(btc.head(0))
    assert out.height == 0
    assert set(INDICATOR_COLUMNS) <= set(out.columns)


@pytest.mark.parametrize(
    "fn",
    [
        lambda a: ind.sma(a, 1),
        lambda a: ind.ema(a, 1),
        lambda a: ind.rsi(a, 1),
        lambda a: ind.rolling_std(a, 1),
    ],
)
def test_functions_accept_length_zero_and_one(fn):
    assert fn(np.array([])).shape == (0,)
    assert fn(np.array([5.0])).shape == (1,)


def test_prefix_causal_on_real_data(btc):
    # 16,390 and 20,000 cross the kernels' 16,384-row blocks.
    prefixes = [1, 2, 20, 34, 50, 300, 1000, 5000, 16_390, 20_000]
    assert_prefix_causal(compute_indicators, btc, prefixes, INDICATOR_COLUMNS)


def _custom_periods(df: pl.DataFrame) -> pl.DataFrame:
    h, lo, c, v = (df[k].to_numpy() for k in ("high", "low", "close", "volume"))
    cols = {"ema_50": ind.ema(c, 50), "rsi_7": ind.rsi(c, 7), "atr_5": ind.atr(h, lo, c, 5)}
    cols.update(zip(("pdi_9", "mdi_9", "adx_9"), ind.dmi(h, lo, c, 9), strict=True))
    cols.update(zip(("m", "s", "hist"), ind.macd(c, 5, 35, 5), strict=True))
    cols.update(zip(("k", "d"), ind.stochastic(h, lo, c, 5, 1, 4), strict=True))
    cols["std_7"] = ind.rolling_std(c, 7)
    cols["ema_of_rsi"] = ind.ema(cols["rsi_7"], 10)
    cols["obv"] = ind.obv(c, v)
    return pl.DataFrame(cols)


def test_prefix_causal_with_other_periods(real_candles):
    frame = real_candles("DOGEUSDT").head(3000)
    assert_prefix_causal(_custom_periods, frame, [1, 10, 50, 300, 1000, 2999])


def test_other_periods_match_talib(real_candles):
    df = real_candles("ETHUSDT").head(4000)
    h, lo, c = (df[k].to_numpy() for k in ("high", "low", "close"))
    got = _custom_periods(df)
    expected = {
        "ema_50": talib.EMA(c, 50),
        "rsi_7": talib.RSI(c, 7),
        "atr_5": talib.ATR(h, lo, c, 5),
        "adx_9": talib.ADX(h, lo, c, 9),
        "hist": talib.MACD(c, 5, 35, 5)[2],
        "d": talib.STOCH(h, lo, c, 5, 1, 0, 4, 0)[1],
        "std_7": talib.STDDEV(c, 7, 1.0),
        "ema_of_rsi": talib.EMA(talib.RSI(c, 7), 10),
    }
    for name, ref in expected.items():
        ours = got[name].to_numpy()
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref), err_msg=name)
        np.testing.assert_allclose(ours[300:], ref[300:], rtol=1e-6, err_msg=name)


def test_leading_nans_are_skipped():
    x = np.linspace(100.0, 120.0, 60)
    padded = np.concatenate([[np.nan] * 7, x])
    for fn in (lambda a: ind.ema(a, 10), lambda a: ind.rsi(a, 5), lambda a: ind.sma(a, 4)):
        np.testing.assert_array_equal(fn(padded)[7:], fn(x))
        assert np.isnan(fn(padded)[:7]).all()


def test_rolling_std_keeps_precision_at_high_price_levels():
    rng = np.random.default_rng(3)
    noise = rng.normal(0.0, 1e-3, 5000)
    x = 60_000.0 + noise
    windows = np.lib.stride_tricks.sliding_window_view(noise, 20)
    expected = windows.std(axis=1)  # computed on the small deviations: no cancellation
    np.testing.assert_allclose(ind.rolling_std(x, 20)[19:], expected, rtol=1e-6)


def test_flat_market_gives_neutral_values():
    n = 80
    flat = np.full(n, 42.0)
    assert np.all(ind.rsi(flat, 14)[14:] == 50.0)
    plus_di, minus_di, adx = ind.dmi(flat, flat, flat, 14)
    assert np.all(plus_di[14:] == 0.0) and np.all(minus_di[14:] == 0.0)
    assert np.all(adx[27:] == 0.0)
    upper, middle, lower = ind.bollinger(flat, 20, 2.0)
    np.testing.assert_array_equal(upper[19:], middle[19:])
    np.testing.assert_array_equal(lower[19:], middle[19:])
    k, d = ind.stochastic(flat, flat, flat)
    assert np.all(k[17:] == 50.0) and np.all(d[17:] == 50.0)
    assert np.all(ind.obv(flat, np.full(n, 3.0)) == 3.0)


def test_bad_parameters_raise_config_error():
    x = np.arange(50.0)
    with pytest.raises(ConfigError, match="n must be an integer >= 1, got 0"):
        ind.sma(x, 0)
    with pytest.raises(ConfigError, match="signal"):
        ind.macd(x, 12, 26, -1)
    with pytest.raises(ConfigError, match="n must be"):
        ind.ema(x, 2.5)


def test_bad_arrays_raise_data_validation_error():
    with pytest.raises(DataValidationError, match=r"'x'.*1-D"):
        ind.ema(np.ones((3, 3)), 2)
    with pytest.raises(DataValidationError, match="length 9 differs"):
        ind.atr(np.ones(10), np.ones(9), np.ones(10))
    with pytest.raises(DataValidationError, match=r"'close'.*float64"):
        ind.rsi(["a", "b"], 2)


def test_missing_or_null_column_is_named(btc):
    with pytest.raises(DataValidationError, match=r"'volume'.*missing"):
        compute_indicators(btc.drop("volume"))
    nulls = btc.head(5).with_columns(pl.lit(None, dtype=pl.Float64).alias("high"))
    with pytest.raises(DataValidationError, match=r"'high'.*null"):
        compute_indicators(nulls)


def test_ensure_indicators_is_idempotent(btc):
    df = btc.head(500)
    once = ensure_indicators(df)
    assert once.equals(compute_indicators(df))
    assert ensure_indicators(once) is once
    partial = once.drop("adx_14")
    again = ensure_indicators(partial)
    assert set(INDICATOR_COLUMNS) <= set(again.columns)
    np.testing.assert_array_equal(again["adx_14"].to_numpy(), once["adx_14"].to_numpy())
