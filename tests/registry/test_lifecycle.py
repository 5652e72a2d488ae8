"""Model lifecycle: expiry and due-for-retraining against a fake clock, purge selection,
and the registry calls the scheduler relies on (manifest, delete_version, retrain notes)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import torch

from models.errors import ConfigError, ConflictError, ModelNotFoundError
from models.registry import ModelRegistry
from models.registry.lifecycle import (
    EXPIRED,
    OK,
    Lifecycle,
    age_seconds,
    created_at,
    versions_to_purge,
)

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def _publish(reg: ModelRegistry, seed: int, model: str = "transformer") -> str:
    torch.manual_seed(seed)
    return reg.publish(
        "BTCUSDT",
        model,
        state_dict={"w": torch.randn(2)},
        config={"model": model},
        metrics={},
        data_window={},
    )


def test_expiry_and_due_follow_the_clock() -> None:
    policy = Lifecycle(retrain_after=2 * HOUR, expire_after=6 * HOUR)
    assert policy.status(T0, T0 + HOUR) == OK and not policy.is_due(T0, T0 + HOUR)
    assert policy.is_due(T0, T0 + 3 * HOUR) and policy.status(T0, T0 + 3 * HOUR) == OK
    assert policy.status(T0, T0 + 6 * HOUR) == OK  # "older than": the boundary is not
    assert policy.status(T0, T0 + 6 * HOUR + timedelta(seconds=1)) == EXPIRED
    assert policy.is_due(None, T0) and not policy.is_expired(None, T0)  # unknown age


def test_rules_off_by_default() -> None:
    policy = Lifecycle()
    far = T0 + timedelta(days=3650)
    assert not policy.is_due(T0, far) and policy.status(T0, far) == OK
    assert versions_to_purge(["a", "b", "c"], None, ()) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"retrain_after": timedelta(0)}, "retrain_after"),
        ({"expire_after": -HOUR}, "expire_after"),
        ({"keep_versions": 0}, "keep_versions"),
    ],
)
def test_bad_policy_names_the_field(kwargs, field) -> None:
    with pytest.raises(ConfigError, match=field):
        Lifecycle(**kwargs)


def test_purge_keeps_the_newest_and_every_protected_version() -> None:
    versions = ["v1", "v2", "v3", "v4", "v5"]
    assert versions_to_purge(versions, 2, ()) == ["v1", "v2", "v3"]
    assert versions_to_purge(versions, 2, ("v2", None)) == ["v1", "v3"]
    assert versions_to_purge(versions, 5, ()) == []


def test_created_at_reads_the_manifest() -> None:
    assert created_at({"created_at": "2026-01-01T00:00:00+00:00"}) == T0
    assert created_at({"created_at": "2026-01-01T00:00:00"}) == T0  # naive is UTC
    assert created_at({"created_at": "yesterday"}) is None and created_at({}) is None
    assert age_seconds(T0, T0 + HOUR) == 3600.0 and age_seconds(None, T0) is None


def test_registry_manifest_delete_and_notes(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path)
    old, new = _publish(reg, 0), _publish(reg, 1)
    made = created_at(reg.manifest("BTCUSDT", "transformer", new))
    assert made is not None and abs(datetime.now(timezone.utc) - made) < timedelta(minutes=5)
    with pytest.raises(ConflictError, match="LATEST"):
        reg.delete_version("BTCUSDT", "transformer", new)
    reg.delete_version("BTCUSDT", "transformer", old)
    assert reg.versions("BTCUSDT", "transformer") == [new]
    with pytest.raises(ModelNotFoundError):
        reg.manifest("BTCUSDT", "transformer", old)
    assert reg.retrain_note("BTCUSDT", "transformer") is None
    reg.write_retrain_note("BTCUSDT", "transformer", {"status": "failed", "error": "boom"})
    assert reg.retrain_note("BTCUSDT", "transformer") == {"status": "failed", "error": "boom"}
    assert reg.list_models() == {"BTCUSDT": {"transformer": [new]}}  # the note is no version
