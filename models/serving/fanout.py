"""The fan-out of one batch of requests, written once: which member gets which windows, the
leader read, splitting calls to fit a message, the deadline, and the replies per window.

The ensemble deployment runs it over Ray Serve handles and the in-process pipeline over the
predictors in this process (:class:`HandleCallers` wraps either: anything with
``options(multiplexed_model_id=...)`` and ``<method>.remote(...)``), so the two paths differ
only in where a member runs. Per batch: one call per rule member and the regime detector
over every window, one call per (trained member, symbol); calls leave costliest first (the
slowest sets the batch's latency); a member that needs a leader's candles beside other
symbols' windows gets them from one read per batch, awaited inside its calls, so the read
counts against the same deadline.

What a member is sent is what its registry entry states: ``window_bars`` newest bars (the
app's window unless it needs more) and, when it names ``columns``, only those (the leader's
``leader_*`` columns are attached after).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl

from models.predictors.registry import PredictorEntry
from models.serving.pipeline import leader_request, with_leader
from models.serving.remote import MAX_CALL_BYTES, call_in_chunks, gather_with_deadline
from models.serving.replies import Reply

REGIME = "regime"
REGIME_COST = 20
"""The regime detector's place among the predictors' ``cost`` (registry entries)."""

CallKey = tuple[str, str]
"""(member, symbol): the symbol is ``""`` for a call over every window of the batch."""


def group_rows(symbols: Sequence[str]) -> dict[str, list[int]]:
    """Symbol -> the positions where it occurs, in first-seen order (one call per symbol)."""
    groups: dict[str, list[int]] = {}
    for i, symbol in enumerate(symbols):
        groups.setdefault(symbol, []).append(i)
    return groups


def call_order(entries: Iterable[PredictorEntry]) -> tuple[str, ...]:
    """Order the calls leave in: costliest first (each entry's ``cost``, the regime
    detector's :data:`REGIME_COST`), since they go out one after another and the slowest
    one sets the batch's latency."""
    costs = {e.name: e.cost for e in entries}
    costs[REGIME] = REGIME_COST
    return tuple(sorted(costs, key=lambda name: -costs[name]))


def spread(result: Any, n: int) -> list[Reply]:
    """A call's per-window replies, or its one failure reply repeated for every window."""
    if isinstance(result, Reply):
        return [result] * n
    return list(result)


def member_window(
    entry: PredictorEntry, window: pl.DataFrame, history: pl.DataFrame
) -> pl.DataFrame:
    """What ``entry`` is sent for one request: its bars (``history`` holds enough for every
    member, ``window`` is the app's), only its columns when it names them."""
    needs = entry.window_bars
    frame = window if needs is None or needs <= window.height else history.tail(needs)
    if entry.columns is None:
        return frame
    return frame.select([c for c in entry.columns if c in frame.columns])


@dataclass(frozen=True)
class PlannedCall:
    """One call of the fan-out: the member, the symbol (trained members), the batch rows it
    answers for and the windows it sends; ``leader``: a symbol whose candles are attached."""

    member: str
    symbol: str
    rows: tuple[int, ...]
    windows: tuple[pl.DataFrame, ...]
    leader: str | None = None

    @property
    def key(self) -> CallKey:
        return (self.member, self.symbol)


class FanOutPlan:
    """The calls of a batch and how their replies become one list per member."""

    def __init__(self, entries: Sequence[PredictorEntry]) -> None:
        self.entries = {e.name: e for e in entries}
        self.order = call_order(entries)
        self.leaders = frozenset(e.leader for e in entries if e.leader is not None)

    def calls(
        self,
        symbols: Sequence[str],
        windows: Sequence[pl.DataFrame],
        history: Sequence[pl.DataFrame],
    ) -> list[PlannedCall]:
        """Every call, in :attr:`order`; ``windows`` are the app's, ``history`` the same
        requests with as many bars as the most demanding member needs."""
        groups = group_rows(symbols)
        every = tuple(range(len(windows)))
        out = []
        for name in self.order:
            if name == REGIME:
                out.append(PlannedCall(REGIME, "", every, tuple(windows)))
                continue
            entry = self.entries[name]
            mine = [member_window(entry, w, h) for w, h in zip(windows, history, strict=True)]
            if not entry.trained:
                out.append(PlannedCall(name, "", every, tuple(mine)))
                continue
            for symbol, rows in groups.items():
                leader = entry.leader if entry.leader not in (None, symbol) else None
                batch = tuple(mine[i] for i in rows)
                out.append(PlannedCall(name, symbol, tuple(rows), batch, leader))
        return out

    def replies(
        self, calls: Sequence[PlannedCall], results: Mapping[CallKey, Any], n: int
    ) -> dict[str, list[Reply]]:
        """Member (and ``regime``) -> one reply per window of the batch."""
        out: dict[str, list[Reply]] = {
            name: [Reply("missing")] * n for name in (*self.entries, REGIME)
        }
        for call in calls:
            replies = spread(results[call.key], len(call.rows))
            for i, reply in zip(call.rows, replies, strict=True):
                out[call.member][i] = reply
        return out


Send = Callable[[list[pl.DataFrame]], Awaitable[Sequence[Reply]]]
"""A call of one member on a list of windows (one reply per window)."""


class Callers(Protocol):
    """Where the members run: how to call one, and how to read a leader's stored candles."""

    def sender(self, call: PlannedCall) -> Send: ...

    async def leader_candles(self, leader: str, until_us: int, limit: int) -> pl.DataFrame | None:
        """The stored candles of ``leader`` opened at or before ``until_us`` (newest
        ``limit``), None when there are none or they cannot be read."""
        ...


class HandleCallers:
    """:class:`Callers` over handles (Ray Serve's, or stand-ins with the same methods):
    members answer ``predict``, trained ones per symbol (``multiplexed_model_id``) with the
    symbol first; the regime detector answers ``current``; the state reads candles."""

    def __init__(
        self,
        members: Mapping[str, Any],
        trained: Iterable[str],
        regime: Any,
        read_candles: Callable[[str, int, int], Awaitable[pl.DataFrame | None]],
    ) -> None:
        self.members, self.trained = dict(members), frozenset(trained)
        self.regime, self.read_candles = regime, read_candles

    def sender(self, call: PlannedCall) -> Send:
        if call.member == REGIME:
            send: Send = self.regime.current.remote
            return send
        handle = self.members[call.member]
        if call.member in self.trained:
            handle = handle.options(multiplexed_model_id=call.symbol)
            return functools.partial(handle.predict.remote, call.symbol)
        rule: Send = handle.predict.remote
        return rule

    async def leader_candles(self, leader: str, until_us: int, limit: int) -> pl.DataFrame | None:
        return await self.read_candles(leader, until_us, limit)


@dataclass(frozen=True)
class FanOutResult:
    """Replies per member and window, each call's raw result (a :class:`Reply` for a
    failure: what a failure log reads) and its duration in ms."""

    replies: dict[str, list[Reply]]
    results: dict[CallKey, Any]
    call_ms: dict[str, float]


async def _leader_read(
    callers: Callers, leader: str, symbols: Sequence[str], history: Sequence[pl.DataFrame]
) -> pl.DataFrame | None:
    span = leader_request(symbols, history, leader)
    if span is None:
        return None
    return await callers.leader_candles(leader, *span)


async def _with_leader(
    send: Send,
    windows: Sequence[pl.DataFrame],
    leader: asyncio.Future[pl.DataFrame | None],
    budget: int,
) -> list[Reply]:
    """A call whose windows carry the leader's candles (awaited first)."""
    candles = await asyncio.shield(leader)
    return await call_in_chunks(send, [with_leader(w, candles) for w in windows], budget)


async def fan_out(
    plan: FanOutPlan,
    callers: Callers,
    symbols: Sequence[str],
    windows: Sequence[pl.DataFrame],
    history: Sequence[pl.DataFrame],
    deadline_s: float | None,
    budget: int = MAX_CALL_BYTES,
) -> FanOutResult:
    """Run every call of ``plan`` for the batch concurrently under one deadline (None: no
    deadline) and collect the replies; a call larger than ``budget`` bytes goes in parts."""
    calls = plan.calls(symbols, windows, history)
    leaders = {
        leader: asyncio.ensure_future(_leader_read(callers, leader, symbols, history))
        for leader in plan.leaders
        if any(c.leader == leader for c in calls)
    }
    pending: dict[CallKey, Awaitable[Any]] = {}
    for call in calls:
        send = callers.sender(call)
        if call.leader is not None:
            pending[call.key] = _with_leader(send, call.windows, leaders[call.leader], budget)
        else:
            pending[call.key] = call_in_chunks(send, call.windows, budget)
    durations: dict[CallKey, float] = {}
    results = await gather_with_deadline(pending, deadline_s, durations)
    for task in leaders.values():
        task.cancel()
    call_ms = {f"call:{n}:{s}" if s else f"call:{n}": d for (n, s), d in durations.items()}
    return FanOutResult(plan.replies(calls, results, len(windows)), results, call_ms)
