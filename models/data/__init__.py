"""Market data: load candle files, validate them, report gaps, resample, download archives."""

from models.data.intervals import format_interval, parse_interval
from models.data.loader import load_market_data, load_ohlcv
from models.data.paths import default_data_dir
from models.data.resample import resample_ohlcv
from models.data.validation import Gap, GapReport, gap_report, validate_ohlcv

__all__ = [
    "Gap",
    "GapReport",
    "default_data_dir",
    "format_interval",
    "gap_report",
    "load_market_data",
    "load_ohlcv",
    "parse_interval",
    "resample_ohlcv",
    "validate_ohlcv",
]
