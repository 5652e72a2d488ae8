"""Validated path components and sortable version ids.

Symbols, model names and versions become directory names, so each is checked against a
strict pattern first: nothing like ``..``, ``/`` or an empty string can reach the filesystem.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from models.errors import ConfigError

SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,20}$")
MODEL_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
VERSION_RE = re.compile(r"^v(\d{8}T\d{6})Z-([0-9a-f]{8})$")
_STAMP = "%Y%m%dT%H%M%S"


def check_symbol(symbol: str) -> str:
    if not isinstance(symbol, str) or not SYMBOL_RE.match(symbol):
        raise ConfigError(f"symbol: {symbol!r} must be 2-20 upper-case letters or digits")
    return symbol


def check_model(model_name: str) -> str:
    if not isinstance(model_name, str) or not MODEL_RE.match(model_name):
        raise ConfigError(
            f"model: {model_name!r} must be lower-case letters, digits or '_' (at most 40)"
        )
    return model_name


def check_version(version: str) -> str:
    if not isinstance(version, str) or not VERSION_RE.match(version):
        raise ConfigError(f"version: {version!r} must look like v20260101T000000Z-0123abcd")
    return version


def is_version(name: str) -> bool:
    return bool(VERSION_RE.match(name))


def new_version(digest: str, after: str | None = None, now: datetime | None = None) -> str:
    """``v<UTC timestamp>Z-<8 hex of digest>``, strictly later than version ``after``.

    String order is time order; when the clock has not moved past ``after`` (two publishes
    in one second, or a clock step back) the stamp becomes one second after it.
    """
    stamp = (now or datetime.now(timezone.utc)).replace(microsecond=0, tzinfo=None)
    if after is not None:
        match = VERSION_RE.match(after)
        if match:
            previous = datetime.strptime(match.group(1), _STAMP)
            stamp = max(stamp, previous + timedelta(seconds=1))
    return f"v{stamp.strftime(_STAMP)}Z-{digest[:8]}"
