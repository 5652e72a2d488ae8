"""AdaptiveBatcher: no timer when alone, the backlog becomes the next batch."""

from __future__ import annotations

import asyncio

import pytest

from models.serving.batching import AdaptiveBatcher


class Recorder:
    """A batch function that records its batches and can be held open."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        await self.gate.wait()
        if -1 in items:
            raise ValueError("bad item")
        return [i * 10 for i in items]


def test_alone_starts_at_once_and_backlog_is_next_batch():
    async def scenario() -> Recorder:
        rec = Recorder()
        batcher = AdaptiveBatcher(rec, max_batch_size=3, max_concurrent=1)
        rec.gate.clear()
        first = asyncio.ensure_future(batcher.submit(1))
        await asyncio.sleep(0.005)
        assert rec.batches == [[1]]  # started without waiting for company
        rest = [asyncio.ensure_future(batcher.submit(i)) for i in range(2, 7)]
        await asyncio.sleep(0.01)
        assert rec.batches == [[1]]  # the only slot is busy: 2..6 wait
        rec.gate.set()
        assert await first == 10
        assert await asyncio.gather(*rest) == [20, 30, 40, 50, 60]
        return rec

    rec = asyncio.run(scenario())
    assert rec.batches == [[1], [2, 3, 4], [5, 6]]  # backlog split by max_batch_size


def test_errors_reach_their_batch_only():
    async def scenario() -> tuple:
        rec = Recorder()
        batcher = AdaptiveBatcher(rec, max_batch_size=2, max_concurrent=1)
        rec.gate.clear()
        a = asyncio.ensure_future(batcher.submit(-1))
        await asyncio.sleep(0.005)
        b, c = (asyncio.ensure_future(batcher.submit(i)) for i in (2, 3))
        await asyncio.sleep(0.005)  # both wait behind the busy slot
        rec.gate.set()
        results = await asyncio.gather(a, b, c, return_exceptions=True)
        return results, rec.batches

    results, batches = asyncio.run(scenario())
    assert isinstance(results[0], ValueError) and results[1:] == [20, 30]
    assert batches == [[-1], [2, 3]]


def test_linger_waits_for_company_while_a_slot_is_free():
    async def scenario() -> list[list[int]]:
        rec = Recorder()
        batcher = AdaptiveBatcher(rec, max_batch_size=8, max_concurrent=2, linger_s=0.05)
        first = asyncio.ensure_future(batcher.submit(1))
        await asyncio.sleep(0.01)
        second = asyncio.ensure_future(batcher.submit(2))
        assert await asyncio.gather(first, second) == [10, 20]
        return rec.batches

    assert asyncio.run(scenario()) == [[1, 2]]


def test_wrong_result_count_fails_the_batch():
    async def short(items: list[int]) -> list[int]:
        return items[:-1]

    async def scenario() -> None:
        await AdaptiveBatcher(short).submit(1)

    with pytest.raises(RuntimeError, match="gave 0 results"):
        asyncio.run(scenario())


def test_a_stalled_batch_frees_its_slot_after_stall_s():
    async def scenario() -> tuple[list[list[int]], float]:
        rec = Recorder()
        batcher = AdaptiveBatcher(rec, max_batch_size=8, max_concurrent=1, stall_s=0.05)
        rec.gate.clear()  # the first batch hangs (a predictor stuck until the deadline)
        loop = asyncio.get_running_loop()
        first = asyncio.ensure_future(batcher.submit(1))
        await asyncio.sleep(0.01)
        t0 = loop.time()
        second = asyncio.ensure_future(batcher.submit(2))
        await asyncio.sleep(0.02)
        assert rec.batches == [[1]]  # not stalled yet: 2 waits for the slot
        while len(rec.batches) < 2:
            await asyncio.sleep(0.005)
        waited = loop.time() - t0
        rec.gate.set()
        assert await asyncio.gather(first, second) == [10, 20]
        return rec.batches, waited

    batches, waited = asyncio.run(scenario())
    assert batches == [[1], [2]]
    assert 0.03 <= waited < 0.5  # started once the first batch was 50 ms old, not at its end


def test_stalled_batches_beyond_the_slots_are_capped():
    async def scenario() -> list[list[int]]:
        rec = Recorder()
        batcher = AdaptiveBatcher(
            rec, max_batch_size=1, max_concurrent=1, stall_s=0.01, max_stalled=2
        )
        rec.gate.clear()
        futures = []
        for i in range(1, 6):
            futures.append(asyncio.ensure_future(batcher.submit(i)))
            await asyncio.sleep(0.03)  # every running batch stalls before the next item
        assert rec.batches == [[1], [2], [3]]  # 1 slot + at most 2 stalled
        assert batcher.running == 3
        rec.gate.set()
        await asyncio.gather(*futures)
        return rec.batches

    assert asyncio.run(scenario()) == [[1], [2], [3], [4], [5]]


def test_without_stall_s_a_busy_slot_holds_the_backlog():
    async def scenario() -> list[list[int]]:
        rec = Recorder()
        batcher = AdaptiveBatcher(rec, max_batch_size=8, max_concurrent=1)
        rec.gate.clear()
        first = asyncio.ensure_future(batcher.submit(1))
        await asyncio.sleep(0.01)
        second = asyncio.ensure_future(batcher.submit(2))
        await asyncio.sleep(0.1)
        assert rec.batches == [[1]]
        rec.gate.set()
        await asyncio.gather(first, second)
        return rec.batches

    assert asyncio.run(scenario()) == [[1], [2]]
