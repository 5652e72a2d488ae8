"""The retraining scheduler without Ray: a fake clock, a fake submitter whose "training"
publishes a tiny version, and a real registry on disk.

Covers: nothing due while young, due after ``retrain_after``, one job per model at a time,
publish and the retrain note, purge down to ``keep_versions`` sparing ``LATEST``, the
replaced version and loaded ones, a failing retraining (current version kept, failure
noted, retried only after ``retry_after``) and a submitter that raises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import torch

from models.errors import RetrainError
from models.registry import ModelRegistry
from models.registry.lifecycle import Lifecycle
from models.training.retrain_schedule import RetrainScheduler

SYMBOL, MODEL = "BTCUSDT", "transformer"
HOUR = timedelta(hours=1)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class FakeJob:
    registry: ModelRegistry
    model: str
    seed: int
    clock: Clock
    finished: bool = False
    error: Exception | None = None

    def done(self) -> bool:
        return self.finished

    def result(self) -> str:
        if self.error is not None:
            raise self.error
        return publish(self.registry, self.seed, self.model, self.clock.now)


def publish(reg: ModelRegistry, seed: int, model: str = MODEL, when: datetime | None = None) -> str:
    """A tiny version; its manifest's ``created_at`` set to ``when`` (the fake clock)."""
    torch.manual_seed(seed)
    state = {"w": torch.randn(2)}
    version = reg.publish(
        SYMBOL, model, state_dict=state, config={"model": model}, metrics={}, data_window={}
    )
    if when is not None:
        path = Path(str(reg.root)) / SYMBOL / model / version / "manifest.json"
        manifest = json.loads(path.read_text())
        path.write_text(json.dumps({**manifest, "created_at": when.isoformat()}))
    return version


class Submitter:
    def __init__(self, reg: ModelRegistry, clock: Clock) -> None:
        self.reg, self.clock, self.jobs = reg, clock, []

    def __call__(self, symbol: str, model: str) -> FakeJob:
        assert symbol == SYMBOL
        job = FakeJob(self.reg, model, len(self.jobs) + 10, self.clock)
        self.jobs.append(job)
        return job


def _scheduler(tmp_path: Path, keep: int | None = 1) -> tuple[RetrainScheduler, Clock, Submitter]:
    reg, clock = ModelRegistry(tmp_path), Clock()
    submit = Submitter(reg, clock)
    policy = Lifecycle(retrain_after=2 * HOUR, expire_after=6 * HOUR, keep_versions=keep)
    sched = RetrainScheduler(reg, policy, submit, clock, models=(MODEL,), retry_after=HOUR)
    return sched, clock, submit


def test_retrains_when_due_publishes_and_purges(tmp_path: Path) -> None:
    sched, clock, submit = _scheduler(tmp_path)
    first = publish(sched.registry, 0)
    assert sched.tick() == ([], []) and not submit.jobs  # young: nothing due
    clock.advance(3 * HOUR)
    submitted, finished = sched.tick()
    assert submitted == [(SYMBOL, MODEL)] and finished == []
    note = sched.registry.retrain_note(SYMBOL, MODEL)
    assert note["status"] == "running" and note["serving"] == first
    assert sched.tick() == ([], [])  # running: not submitted twice
    submit.jobs[0].finished = True
    _, finished = sched.tick()
    second = sched.registry.latest(SYMBOL, MODEL)
    assert [(f.version, f.error, f.purged) for f in finished] == [(second, None, ())]
    assert second != first  # the replaced version is spared by this purge
    assert sched.registry.versions(SYMBOL, MODEL) == [first, second]
    note = sched.registry.retrain_note(SYMBOL, MODEL)
    assert note["status"] == "published" and note["version"] == second
    clock.advance(HOUR)  # the new version is young: not due until retrain_after
    assert sched.tick() == ([], [])
    clock.advance(2 * HOUR)
    assert sched.tick()[0] == [(SYMBOL, MODEL)]
    submit.jobs[1].finished = True
    _, finished = sched.tick()
    third = sched.registry.latest(SYMBOL, MODEL)
    assert finished[0].purged == (first,)
    assert sched.registry.versions(SYMBOL, MODEL) == [second, third]


def test_loaded_versions_are_never_purged(tmp_path: Path) -> None:
    sched, clock, submit = _scheduler(tmp_path)
    loaded = publish(sched.registry, 0)
    replaced = publish(sched.registry, 1)
    clock.advance(3 * HOUR)
    sched.tick()
    submit.jobs[0].finished = True
    _, finished = sched.tick(loaded=[loaded])
    assert finished[0].purged == ()
    assert sched.registry.versions(SYMBOL, MODEL)[:2] == [loaded, replaced]


def test_failed_retraining_keeps_serving_and_is_retried_later(tmp_path: Path) -> None:
    sched, clock, submit = _scheduler(tmp_path)
    current = publish(sched.registry, 0)
    clock.advance(3 * HOUR)
    sched.tick()
    submit.jobs[0].finished, submit.jobs[0].error = True, RetrainError("no data\ntrace")
    _, finished = sched.tick()
    assert finished[0].version is None and finished[0].error == "RetrainError: no data"
    assert sched.registry.latest(SYMBOL, MODEL) == current
    assert sched.registry.versions(SYMBOL, MODEL) == [current]
    note = sched.registry.retrain_note(SYMBOL, MODEL)
    assert note["status"] == "failed" and note["serving"] == current
    assert note["error"] == "RetrainError: no data"
    clock.advance(HOUR / 2)
    assert sched.tick() == ([], [])  # within retry_after
    clock.advance(HOUR)
    assert sched.tick()[0] == [(SYMBOL, MODEL)]
    assert sched.registry.retrain_note(SYMBOL, MODEL)["status"] == "running"


def test_a_submitter_that_raises_is_a_noted_failure(tmp_path: Path) -> None:
    sched, clock, _ = _scheduler(tmp_path)
    current = publish(sched.registry, 0)

    def broken(symbol: str, model: str):
        raise RuntimeError("cluster unreachable")

    sched.submit = broken
    clock.advance(3 * HOUR)
    assert sched.tick() == ([(SYMBOL, MODEL)], [])
    note = sched.registry.retrain_note(SYMBOL, MODEL)
    assert note["status"] == "failed" and "cluster unreachable" in note["error"]
    assert sched.registry.latest(SYMBOL, MODEL) == current and not sched.running


def test_off_without_retrain_after_and_limited_to_symbols(tmp_path: Path) -> None:
    sched, clock, submit = _scheduler(tmp_path)
    publish(sched.registry, 0)
    clock.advance(3 * HOUR)
    sched.symbols = ("ETHUSDT",)
    assert sched.due() == []
    sched.symbols = None
    sched.lifecycle = Lifecycle(expire_after=HOUR)
    assert sched.due() == [] and not submit.jobs
