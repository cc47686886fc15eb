"""SendBatcher's edge cases, with the batch call as a scripted collaborator: how sends are
grouped, partial and whole failures, cancelled senders, size limits, closing. That the real
SQS adapter batches is proven against the local stack in tests/integration/test_sqs_queue.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import orjson
import pytest

from services.errors import DependencyUnavailable
from services.settings import Settings, SettingsError
from services.sqs.send_batcher import MAX_BATCH_BYTES, BatchEntry, BatchOutcome, SendBatcher
from tests.polling import eventually

DEADLINE = 10.0  # seconds; generous, the CPU is shared
FOREVER = 3600.0  # a linger that never ends within a test: only a full batch or aclose sends


class ScriptedQueue:
    """The batch call. Records each call's entries; accepts everything unless `refuse` or
    `raise_on_call` say otherwise; holds calls while `gate` is clear."""

    def __init__(self) -> None:
        self.calls: list[list[BatchEntry]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.call_started = asyncio.Event()
        self.refuse: Callable[[BatchEntry], str | None] = lambda _: None
        self.unanswered: set[str] = set()
        self.raise_on_call: Exception | None = None

    async def send_batch(self, entries: Sequence[BatchEntry]) -> BatchOutcome:
        self.calls.append(list(entries))
        self.call_started.set()
        await self.gate.wait()
        if self.raise_on_call is not None:
            raise self.raise_on_call
        refused = {e.id: reason for e in entries if (reason := self.refuse(e)) is not None}
        answered = {e.id for e in entries} - self.unanswered
        return BatchOutcome(accepted=frozenset(answered - set(refused)), refused=refused)

    def bodies(self) -> list[str]:
        return [entry.body for call in self.calls for entry in call]


T = TypeVar("T")


async def within_deadline(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, DEADLINE)


def start(batcher: SendBatcher, bodies: Sequence[str]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(batcher.send(body)) for body in bodies]


async def all_joined(batcher: SendBatcher, queue: ScriptedQueue, count: int) -> None:
    """Until `count` sends reached the batcher: carried by a call already, or waiting in the
    open batch. A sealed batch whose call has not begun counts once its call does."""

    def joined() -> int:
        batch = batcher._open
        return len(queue.bodies()) + (len(batch.entries) if batch is not None else 0)

    await eventually(lambda: joined() == count, f"{count} sends to join", timeout=DEADLINE)


async def test_ten_waiting_sends_go_in_one_call_with_distinct_ids() -> None:
    queue = ScriptedQueue()
    batcher = SendBatcher(queue.send_batch, linger_seconds=FOREVER)
    bodies = [f"m{n}" for n in range(10)]
    await within_deadline(asyncio.gather(*start(batcher, bodies)))
    assert len(queue.calls) == 1
    assert [e.body for e in queue.calls[0]] == bodies
    assert len({e.id for e in queue.calls[0]}) == 10


async def test_more_than_ten_split_into_full_batches_then_the_rest_after_the_linger() -> None:
    queue = ScriptedQueue()
    batcher = SendBatcher(queue.send_batch, linger_seconds=0.01)
    bodies = [f"m{n}" for n in range(25)]
    await within_deadline(asyncio.gather(*start(batcher, bodies)))
    assert [len(call) for call in queue.calls] == [10, 10, 5]
    assert sorted(queue.bodies()) == sorted(bodies)
    for call in queue.calls:
        assert len({e.id for e in call}) == len(call)


async def test_a_lone_send_goes_after_the_linger() -> None:
    queue = ScriptedQueue()
    batcher = SendBatcher(queue.send_batch, linger_seconds=0.01)
    await within_deadline(batcher.send("alone"))
    assert queue.bodies() == ["alone"]


async def test_a_refused_entry_fails_only_its_sender() -> None:
    queue = ScriptedQueue()
    queue.refuse = lambda e: "InvalidMessageContents: no" if e.body == "bad" else None
    batcher = SendBatcher(queue.send_batch, linger_seconds=FOREVER)
    bodies = ["a", "b", "bad", *(f"m{n}" for n in range(7))]
    results = await within_deadline(asyncio.gather(*start(batcher, bodies), return_exceptions=True))
    assert len(queue.calls) == 1
    failed = [body for body, result in zip(bodies, results, strict=True) if result is not None]
    assert failed == ["bad"]
    error = results[2]
    assert isinstance(error, DependencyUnavailable)
    assert "InvalidMessageContents" in error.message


async def test_an_entry_the_queue_did_not_answer_for_counts_as_refused() -> None:
    queue = ScriptedQueue()
    queue.unanswered = {"1"}
    batcher = SendBatcher(queue.send_batch, linger_seconds=FOREVER)
    results = await within_deadline(
        asyncio.gather(*start(batcher, [f"m{n}" for n in range(10)]), return_exceptions=True)
    )
    assert [isinstance(r, DependencyUnavailable) for r in results] == [n == 1 for n in range(10)]


async def test_a_failed_call_fails_its_senders_and_the_next_batch_still_goes() -> None:
    queue = ScriptedQueue()
    outage = ConnectionError("sqs is down")
    queue.raise_on_call = outage
    batcher = SendBatcher(queue.send_batch, linger_seconds=FOREVER)
    results = await within_deadline(
        asyncio.gather(*start(batcher, [f"m{n}" for n in range(10)]), return_exceptions=True)
    )
    assert all(isinstance(r, DependencyUnavailable) for r in results)
    assert all(r.__cause__ is outage for r in results if isinstance(r, BaseException))
    queue.raise_on_call = None
    await within_deadline(asyncio.gather(*start(batcher, [f"n{n}" for n in range(10)])))
    assert [len(call) for call in queue.calls] == [10, 10]


async def test_a_sender_cancelled_before_the_call_is_left_out_and_the_others_go() -> None:
    queue = ScriptedQueue()
    batcher = SendBatcher(queue.send_batch, linger_seconds=FOREVER)
    # The first one opened the batch: its going away must not strand the others.
    first, *others = start(batcher, ["gone", "b", "c"])
    await all_joined(batcher, queue, 3)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await within_deadline(batcher.aclose())
    await within_deadline(asyncio.gather(*others))
    assert queue.bodies() == ["b", "c"]


async def test_a_sender_cancelled_during_the_call_does_not_break_the_others() -> None:
    queue = ScriptedQueue()
    queue.gate.clear()
    queue.refuse = lambda e: "refused" if e.body == "gone" else None
    batcher = SendBatcher(queue.send_batch, linger_seconds=FOREVER)
    tasks = start(batcher, ["gone", *(f"m{n}" for n in range(9))])
    await within_deadline(queue.call_started.wait())
    tasks[0].cancel()
    queue.gate.set()
    results = await within_deadline(asyncio.gather(*tasks, return_exceptions=True))
    assert isinstance(results[0], asyncio.CancelledError)
    assert results[1:] == [None] * 9
    assert len(queue.bodies()) == 10  # it was already on its way: the call carried it


async def test_a_cancelled_call_fails_its_senders() -> None:
    queue = ScriptedQueue()
    queue.gate.clear()
    batcher = SendBatcher(queue.send_batch, linger_seconds=FOREVER)
    tasks = start(batcher, [f"m{n}" for n in range(10)])
    await within_deadline(queue.call_started.wait())
    for call in list(batcher._in_flight):
        call.cancel()
    results = await within_deadline(asyncio.gather(*tasks, return_exceptions=True))
    assert all(isinstance(r, DependencyUnavailable) for r in results)


async def test_a_batch_cancelled_before_its_call_fails_its_senders() -> None:
    queue = ScriptedQueue()
    batcher = SendBatcher(queue.send_batch, linger_seconds=FOREVER)
    tasks = start(batcher, ["a", "b"])
    await all_joined(batcher, queue, 2)  # the batch now waits for its linger
    for waiting in list(batcher._in_flight):
        waiting.cancel()
    results = await within_deadline(asyncio.gather(*tasks, return_exceptions=True))
    assert all(isinstance(r, DependencyUnavailable) for r in results)
    assert queue.calls == []


async def test_bodies_never_add_up_to_more_than_the_byte_limit() -> None:
    queue = ScriptedQueue()
    batcher = SendBatcher(queue.send_batch, linger_seconds=FOREVER)
    # 5,000 characters that JSON-escape to six bytes each: the largest a queued message gets.
    big = orjson.dumps("\u0001" * 5_000).decode()
    assert len(big.encode()) == 30_002
    tasks = start(batcher, [big] * 10)
    await all_joined(batcher, queue, 10)
    await within_deadline(batcher.aclose())
    await within_deadline(asyncio.gather(*tasks))
    assert [len(call) for call in queue.calls] == [8, 2]
    for call in queue.calls:
        assert sum(len(e.body.encode()) for e in call) <= MAX_BATCH_BYTES


async def test_multibyte_characters_count_as_bytes() -> None:
    queue = ScriptedQueue()
    batcher = SendBatcher(queue.send_batch, linger_seconds=FOREVER, max_bytes=100)
    tasks = start(batcher, ["é" * 20] * 5)  # 40 bytes each, 20 characters
    await all_joined(batcher, queue, 5)
    await within_deadline(batcher.aclose())
    await within_deadline(asyncio.gather(*tasks))
    assert [len(call) for call in queue.calls] == [2, 2, 1]


async def test_a_body_bigger_than_any_batch_goes_alone() -> None:
    queue = ScriptedQueue()
    queue.refuse = lambda e: "too long" if len(e.body) > MAX_BATCH_BYTES else None
    batcher = SendBatcher(queue.send_batch, linger_seconds=FOREVER)
    bodies = ["a", "x" * (MAX_BATCH_BYTES + 1), "b"]
    tasks = start(batcher, bodies)
    await all_joined(batcher, queue, 3)
    await within_deadline(batcher.aclose())
    results = await within_deadline(asyncio.gather(*tasks, return_exceptions=True))
    assert [[e.body for e in call] for call in queue.calls] == [["a"], [bodies[1]], ["b"]]
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], DependencyUnavailable)


async def test_aclose_sends_what_waits_and_waits_for_calls_in_flight() -> None:
    queue = ScriptedQueue()
    queue.gate.clear()
    batcher = SendBatcher(queue.send_batch, linger_seconds=FOREVER)
    tasks = start(batcher, ["a", "b"])
    await all_joined(batcher, queue, 2)
    closing = asyncio.ensure_future(batcher.aclose())
    await within_deadline(queue.call_started.wait())
    assert not closing.done()  # the call has not answered yet
    queue.gate.set()
    await within_deadline(closing)
    assert all(task.done() and task.exception() is None for task in tasks)
    # A send after closing goes at once instead of waiting for a linger.
    await within_deadline(batcher.send("late"))
    assert queue.bodies() == ["a", "b", "late"]


def test_the_linger_setting() -> None:
    assert Settings.from_env({}).send_batch_linger_ms == 5
    assert Settings.from_env({"INBOXQL_SEND_BATCH_LINGER_MS": "0"}).send_batch_linger_ms == 0
    for bad in ("-1", "1001", "soon", ""):
        with pytest.raises(SettingsError, match="INBOXQL_SEND_BATCH_LINGER_MS"):
            Settings.from_env({"INBOXQL_SEND_BATCH_LINGER_MS": bad})
