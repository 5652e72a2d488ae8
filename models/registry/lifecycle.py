"""When a model version is too old to use, when it is due for retraining, what to purge.

The FreqAI-style policy (``retrain_after``, ``expire_after``, ``keep_versions``) as pure
functions of a version's creation time (its manifest's ``created_at``) and a clock the
caller passes in, so serving, the scheduler and the tests (with a fake clock) agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from models.errors import ConfigError

OK, EXPIRED = "ok", "expired"


@dataclass(frozen=True)
class Lifecycle:
    """``None`` turns a rule off: never retrain, never expire, keep every version."""

    retrain_after: timedelta | None = None
    expire_after: timedelta | None = None
    keep_versions: int | None = None

    def __post_init__(self) -> None:
        for name in ("retrain_after", "expire_after"):
            value = getattr(self, name)
            if value is not None and value <= timedelta(0):
                raise ConfigError(f"{name}: must be a positive duration, got {value}")
        if self.keep_versions is not None and self.keep_versions < 1:
            raise ConfigError(f"keep_versions: must be >= 1, got {self.keep_versions}")

    def is_expired(self, created: datetime | None, now: datetime) -> bool:
        """Older than ``expire_after`` (a version without a creation time never expires)."""
        if self.expire_after is None or created is None:
            return False
        return now - created > self.expire_after

    def status(self, created: datetime | None, now: datetime) -> str:
        """``expired`` or ``ok``: what a member with this version answers."""
        return EXPIRED if self.is_expired(created, now) else OK

    def is_due(self, created: datetime | None, now: datetime) -> bool:
        """Older than ``retrain_after`` (no creation time counts as due: its age is unknown)."""
        if self.retrain_after is None:
            return False
        return created is None or now - created > self.retrain_after


def created_at(manifest: dict[str, Any]) -> datetime | None:
    """The manifest's ``created_at`` as an aware UTC datetime (None when absent or bad)."""
    value = manifest.get("created_at")
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def age_seconds(created: datetime | None, now: datetime) -> float | None:
    return None if created is None else (now - created).total_seconds()


def versions_to_purge(
    versions: Sequence[str], keep: int | None, protected: Iterable[str | None]
) -> list[str]:
    """The versions beyond the newest ``keep`` (versions sort oldest first), never one in
    ``protected`` (``LATEST`` and whatever a replica has loaded)."""
    if keep is None or len(versions) <= keep:
        return []
    guarded = {v for v in protected if v}
    return [v for v in versions[: len(versions) - keep] if v not in guarded]
