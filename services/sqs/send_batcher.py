"""Gathers concurrent queue sends into batch calls (SQS `SendMessageBatch`: at most 10 entries
and 256 KiB of bodies each).

A batch opens with its first send and is sent when it is full or when the linger has passed,
whichever comes first. Each sender waits for its own entry's answer: it returns only once the
queue accepted that entry, and raises `DependencyUnavailable` if the queue refused it or the
whole call failed. Nothing is ever answered before the queue has it.

Sending is done by one short task per batch, not by the sender who opened it: a sender whose
client goes away (its task cancelled) must not take the other senders' entries down with it.
Such a task lives for the linger plus one call; `aclose()` sends what is waiting and waits for
every call in flight, so nothing outlives the queue that owns the batcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.errors import DependencyUnavailable

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class BatchEntry:
    """One body in a batch call; `id` is unique within its batch. `attributes` are its SQS
    message attributes (a traced sender's trace context), if any."""

    id: str
    body: str
    attributes: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What the queue answered, by entry id. An id in neither is an entry it did not answer
    for, which counts as refused."""

    accepted: frozenset[str]
    refused: Mapping[str, str] = field(default_factory=dict)


SendBatch = Callable[[Sequence[BatchEntry]], Awaitable[BatchOutcome]]


@dataclass(eq=False, slots=True)
class _Waiting:
    body: str
    size: int
    answer: asyncio.Future[None]
    attributes: Mapping[str, Any] | None = None


@dataclass(eq=False, slots=True)
class _Batch:
    entries: list[_Waiting] = field(default_factory=list)
    size: int = 0
    # True once its entries were handed to the call: from then on none can be taken out.
    taken: bool = False
    # Set when the batch must go now: full, or the batcher is closing.
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class SendBatcher:
    def __init__(
        self,
        send_batch: SendBatch,
        *,
        linger_seconds: float,
        max_entries: int = MAX_BATCH_ENTRIES,
        max_bytes: int = MAX_BATCH_BYTES,
    ) -> None:
        self._send_batch = send_batch
        self._linger = linger_seconds
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._open: _Batch | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._closing = False

    async def send(self, body: str, attributes: Mapping[str, Any] | None = None) -> None:
        """Returns once the queue accepted `body`; raises `DependencyUnavailable` if not.
        `attributes` go with it as its message attributes, which SQS counts in its size."""
        size = len(body.encode())
        if attributes:
            size += len(repr(attributes))  # more than SQS counts: names, types and values
        batch = self._open
        if batch is None or not self._fits(batch, size):
            if batch is not None:
                self._seal(batch)
            batch = self._start()
        waiting = _Waiting(body, size, asyncio.get_running_loop().create_future(), attributes)
        batch.entries.append(waiting)
        batch.size += size
        if self._closing or len(batch.entries) >= self._max_entries:
            self._seal(batch)
        try:
            await waiting.answer
        except asyncio.CancelledError:
            # Not sent yet: it never will be. Already sent: the queue may still take it, as a
            # single send cancelled mid-call may; either way the others' entries go on.
            if not batch.taken:
                batch.entries.remove(waiting)
                batch.size -= size
            raise

    async def aclose(self) -> None:
        """Send what is waiting now and wait for every call in flight."""
        self._closing = True
        if self._open is not None:
            self._seal(self._open)
        while self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    def _fits(self, batch: _Batch, size: int) -> bool:
        # A body too big for any batch still goes, alone, so that the queue's refusal of it
        # reaches its sender and no one else's.
        return not batch.entries or batch.size + size <= self._max_bytes

    def _start(self) -> _Batch:
        batch = _Batch()
        self._open = batch
        # A fresh context: the task serves many requests, so it must not log under the id of
        # the one whose send happened to open the batch.
        task = asyncio.create_task(
            self._send_when_ready(batch), name="inboxql-send-batch", context=contextvars.Context()
        )
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        task.add_done_callback(lambda _: self._abandon(batch))
        return batch

    def _seal(self, batch: _Batch) -> None:
        if self._open is batch:
            self._open = None
        batch.ready.set()

    def _abandon(self, batch: _Batch) -> None:
        """Once its task is over, a batch's senders still waiting get an answer: the task was
        cancelled (the loop is going down), perhaps before it even started."""
        self._seal(batch)
        batch.taken = True
        for waiting in batch.entries:
            _refuse(waiting, DependencyUnavailable("sqs: the batch send was cancelled"))

    async def _send_when_ready(self, batch: _Batch) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._linger):
                await batch.ready.wait()
        self._seal(batch)
        batch.taken = True
        # Entries whose senders went away before this point were taken out already.
        entries = list(batch.entries)
        if entries:
            await self._send(entries)

    async def _send(self, entries: list[_Waiting]) -> None:
        batch = [
            BatchEntry(str(n), waiting.body, waiting.attributes)
            for n, waiting in enumerate(entries)
        ]
        try:
            outcome = await self._send_batch(batch)
        except Exception as error:
            for waiting in entries:
                failure = DependencyUnavailable(f"sqs: the batch send failed: {error!r}")
                failure.__cause__ = error
                _refuse(waiting, failure)
            return
        for entry, waiting in zip(batch, entries, strict=True):
            if entry.id in outcome.accepted:
                if not waiting.answer.done():
                    waiting.answer.set_result(None)
            else:
                reason = outcome.refused.get(entry.id, "no answer for this entry")
                _refuse(waiting, DependencyUnavailable(f"sqs refused the message: {reason}"))


def _refuse(waiting: _Waiting, error: DependencyUnavailable) -> None:
    # A sender that went away has a cancelled answer: there is no one left to tell.
    if not waiting.answer.done():
        waiting.answer.set_exception(error)
