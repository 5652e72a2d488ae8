"""The live candle feed without Ray: exchange client, kline parsing, backoff, follower."""

from models.feed.backoff import Backoff
from models.feed.client import KlinesClient
from models.feed.config import FeedSettings
from models.feed.follower import STATES, FeedStatus, Sink, SymbolFeed
from models.feed.klines import Bar, bars_frame, parse_page

__all__ = [
    "STATES",
    "Backoff",
    "Bar",
    "FeedSettings",
    "FeedStatus",
    "KlinesClient",
    "Sink",
    "SymbolFeed",
    "bars_frame",
    "parse_page",
]
