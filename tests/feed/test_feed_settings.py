"""Feed settings in the app's args: defaults, and errors that name the field."""

from __future__ import annotations

import pytest

from deployments.settings import AppSettings
from models.errors import ConfigError


def test_the_feed_is_off_by_default_and_on_with_a_section() -> None:
    assert AppSettings.parse({}).feed is None
    feed = AppSettings.parse({"feed": {"symbols": ["BTCUSDT"]}}).feed
    assert feed.base_url == "https://api.binance.com" and feed.interval_ms == 3_600_000
    assert feed.page_limit == 1000


@pytest.mark.parametrize(
    ("feed", "extra", "needle"),
    [
        ({"symbols": []}, {}, "feed.symbols"),
        ({"symbols": ["btc"]}, {}, "feed.symbols: 'btc'"),
        ({"symbols": ["BTCUSDT"]}, {"symbols": ["ETHUSDT"]}, "BTCUSDT is not in symbols"),
        ({"symbols": ["BTCUSDT"], "interval": "1x"}, {}, "feed.interval"),
        ({"symbols": ["BTCUSDT"], "base_url": "ftp://x"}, {}, "feed.base_url"),
        ({"symbols": ["BTCUSDT"], "page_limit": 1001}, {}, "feed.page_limit"),
        ({"symbols": ["BTCUSDT"], "poll_max_s": 0}, {}, "feed.poll_max_s"),
        ({"symbols": ["BTCUSDT"], "bogus": 1}, {}, "feed.bogus"),
    ],
)
def test_bad_feed_settings_name_the_field(feed, extra, needle) -> None:
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        AppSettings.parse({"feed": feed, **extra})
