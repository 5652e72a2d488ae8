"""models/serving/remote.py: calls split to fit one message, the failure log of a fan-out,
readable RPC errors (the deadline and unwrap are covered through the pipeline and ensemble
tests)."""

from __future__ import annotations

import asyncio
import logging

import polars as pl
import pytest

from models.serving.remote import FailureLog, call_in_chunks, chunks_by_bytes
from models.serving.replies import OK, TIMEOUT, Reply, reply_for


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_failures_are_logged_whole_once_per_period_with_the_held_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    log = FailureLog(logging.getLogger("test.failures"), every_s=30.0, clock=clock)
    broken = Reply("error: AioRpcError: <rpc>", detail="AioRpcError\nstatus = RESOURCE_EXHAUSTED")
    results = {("lgbm", "ETHUSDT"): broken, ("smc", ""): Reply(OK), ("cnn", "X"): Reply(TIMEOUT)}
    with caplog.at_level(logging.WARNING, logger="test.failures"):
        log.note(results)
        clock.now = 10.0
        log.note(results)
        log.note(results)
        clock.now = 41.0
        log.note(results)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "call lgbm:ETHUSDT failed: AioRpcError\nstatus = RESOURCE_EXHAUSTED",
        "call lgbm:ETHUSDT failed (2 more since the last report): "
        "AioRpcError\nstatus = RESOURCE_EXHAUSTED",
    ]


def test_a_result_that_is_not_a_failed_reply_is_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = FailureLog(logging.getLogger("test.failures"))
    with caplog.at_level(logging.WARNING, logger="test.failures"):
        log.note({"a": [Reply(OK)], "b": Reply("no_model"), "c": Reply("error: X")})
    assert [r.getMessage() for r in caplog.records] == ["call c failed: error: X"]


class FakeRpcError(Exception):
    """The shape of grpc.aio.AioRpcError: a multi-line text, the code and details apart."""

    class Code:
        name = "RESOURCE_EXHAUSTED"

    def __str__(self) -> str:
        return "<AioRpcError of RPC that terminated with:\n\tstatus = ...\n\tdetails = ...>"

    def code(self) -> Code:
        return self.Code()

    def details(self) -> str:
        return "Received message larger than max (5000000 vs. 4194304)"


def test_an_rpc_error_status_names_its_code_and_details() -> None:
    status = reply_for(FakeRpcError()).status
    assert status == (
        "error: FakeRpcError: RESOURCE_EXHAUSTED: "
        "Received message larger than max (5000000 vs. 4194304)"
    )
    assert reply_for(ValueError("first\nsecond")).status == "error: ValueError: first"


def _frames(*rows: int) -> list[pl.DataFrame]:
    return [pl.DataFrame({"x": [1.0] * n}) for n in rows]  # 8 bytes per row


def test_chunks_keep_order_and_stay_within_the_budget() -> None:
    frames = _frames(10, 10, 10, 30, 10)  # 80, 80, 80, 240, 80 bytes
    assert chunks_by_bytes(frames, 160) == [range(0, 2), range(2, 3), range(3, 4), range(4, 5)]
    assert chunks_by_bytes(frames, 10_000) == [range(0, 5)]
    assert chunks_by_bytes([], 100) == []
    with pytest.raises(ValueError, match="budget"):
        chunks_by_bytes(frames, 0)


class Parts:
    """A deployment method stand-in: one result per frame, each call remembered."""

    def __init__(self, answer_short: bool = False) -> None:
        self.calls: list[int] = []
        self.answer_short = answer_short

    async def __call__(self, frames: list[pl.DataFrame]) -> list[int]:
        self.calls.append(len(frames))
        out = [f.height for f in frames]
        return out[:-1] if self.answer_short and len(out) > 1 else out


def test_call_in_chunks_answers_in_the_frames_order() -> None:
    frames = _frames(1, 2, 3, 4, 5)
    parts = Parts()
    assert asyncio.run(call_in_chunks(parts, frames, budget=24)) == [1, 2, 3, 4, 5]
    assert parts.calls == [2, 1, 1, 1]  # 8+16, 24, 32 (alone), 40 (alone)
    whole = Parts()
    assert asyncio.run(call_in_chunks(whole, frames)) == [1, 2, 3, 4, 5]
    assert whole.calls == [5]
    with pytest.raises(ValueError, match="answered 1 results for 2 frames"):
        asyncio.run(call_in_chunks(Parts(answer_short=True), frames, budget=24))


class Pending:
    """A response that never finishes until cancelled (like a late ``DeploymentResponse``)."""

    def __init__(self) -> None:
        self.cancelled = False

    def __await__(self):
        return asyncio.sleep(3600).__await__()

    def cancel(self) -> None:
        self.cancelled = True


def test_cancelling_call_in_chunks_cancels_every_call_it_made() -> None:
    made: list[Pending] = []

    def call(frames: list[pl.DataFrame]) -> Pending:
        made.append(Pending())
        return made[-1]

    async def run() -> None:
        task = asyncio.ensure_future(call_in_chunks(call, _frames(1, 1, 1), budget=8))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert len(made) == 3 and all(p.cancelled for p in made)
