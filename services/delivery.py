"""The delivery worker: takes accepted messages off the queue, persists them exactly once in
effect, and tells live subscribers. A queue message is deleted only after its message is stored,
so a crash anywhere before that means redelivery, and redelivery changes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.change_log import Delivered, LiveChange
from services.disabled import NO_METRICS
from services.domain import Message, UnreadCountChanged, utc_now
from services.inbox import announce
from services.observability.request_ids import new_request_id, request_id_bound
from services.ports import (
    Delivery,
    DeliveryConsumer,
    DeliveryOutcome,
    EventPublisher,
    MessageStore,
    Metrics,
)

log = logging.getLogger("inboxql.delivery")

BATCH_SIZE = 10  # SQS's maximum for one receive and one delete
# How long a stopping worker goes on delivering what is queued (see `DeliveryWorker.drain`).
DRAIN_SECONDS = 10.0


class ProcessSpans(Protocol):
    """Traces each received message's delivery (services/sqs/traced_queue.py); given only
    when tracing is on."""

    async def process(self, item: Delivery, delivering: Awaitable[bool]) -> bool: ...


async def deliver(
    message: Message,
    store: MessageStore,
    publisher: EventPublisher,
    *,
    metrics: Metrics = NO_METRICS,
    clock: Callable[[], datetime] = utc_now,
) -> Delivered:
    """Store, count, publish. What the store did: stored by this call, stored before (a
    redelivery), or deleted by its sender while queued (nothing to store or tell)."""
    about = {"message_id": message.id, "recipient_id": message.recipient_id}
    delivered = await store.deliver(message)
    if delivered.deleted:
        # Also after a redrive from the dead-letter queue: the tombstone outlives the queue.
        log.info("message %s was deleted by its sender while queued", message.id, extra=about)
        return delivered
    if delivered.change is None:
        log.info(
            "message %s was already stored; announcing the count again", message.id, extra=about
        )
        # A worker that stored the message and then died never told anyone. A count snapshot
        # is harmless to repeat (subscribers drop stale versions), and a subscriber that keeps
        # a version reads the changes it has not seen from the log.
        count = await store.unread_count(message.recipient_id)
        await announce(
            publisher, UnreadCountChanged(message.recipient_id, count.count, count.version)
        )
        # It may be what the worker that stored the message did not get to.
        await store.touch_sender_summary(message)
        return delivered
    metrics.message_delivered("persisted", _seconds_since(message, clock))
    log.info("stored message %s for %s", message.id, message.recipient_id, extra=about)
    # One publish per change: the count and the message travel in it together.
    if await announce(publisher, LiveChange(delivered.change, message), to=message.recipient_id):
        metrics.message_delivered("published", _seconds_since(message, clock))
        log.info("published message %s to %s", message.id, message.recipient_id, extra=about)
    # After the publish, so a failure here costs the recipient no live event: the queue
    # message stays unacknowledged, and its redelivery runs this again.
    await store.touch_sender_summary(message)
    return delivered


def _seconds_since(message: Message, clock: Callable[[], datetime]) -> float:
    return (clock() - message.sent_at).total_seconds()


@dataclass
class DeliveryWorker:
    queue: DeliveryConsumer
    store: MessageStore
    publisher: EventPublisher
    wait_seconds: int = 20
    idle_backoff_seconds: float = 1.0
    metrics: Metrics = NO_METRICS
    clock: Callable[[], datetime] = utc_now
    drain_seconds: float = DRAIN_SECONDS
    spans: ProcessSpans | None = None

    async def run_once(self, wait_seconds: int | None = None) -> int:
        """Receive one batch, deliver it, delete what was delivered. Returns how many were
        received."""
        batch = await self._receive(wait_seconds)
        await self.process(batch)
        return len(batch)

    async def process(self, batch: list[Delivery]) -> None:
        if not batch:
            return
        outcomes = await self.deliver_batch(batch)
        done = [item.receipt for item, ok in zip(batch, outcomes, strict=True) if ok]
        if done:
            await self.queue.acknowledge(done)

    async def deliver_batch(self, batch: list[Delivery]) -> list[bool]:
        return await deliver_batch(
            batch,
            self.store,
            self.publisher,
            metrics=self.metrics,
            clock=self.clock,
            spans=self.spans,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Long-poll until `stop` is set, then drain what is queued (bounded) and return.

        A poll in flight when `stop` comes is waited for, never dropped: SQS hands messages to
        a request even after its client has gone, and they would stay hidden for the
        visibility timeout. So stopping takes at most one long poll; every batch received is
        delivered and acknowledged before the worker returns."""
        while not stop.is_set():
            try:
                await self.process(await self._receive(None))
            except Exception as error:
                log.error("delivery batch failed: %r", error)
                await _sleep_unless(stop, self.idle_backoff_seconds)
        await self.drain()

    async def _receive(self, wait_seconds: int | None) -> list[Delivery]:
        return await self.queue.receive(
            max_messages=BATCH_SIZE,
            wait_seconds=self.wait_seconds if wait_seconds is None else wait_seconds,
        )

    async def drain(self) -> None:
        """Deliver what is queued, for at most `drain_seconds`: while other processes keep
        sending, the queue never empties, and a stopping worker must still stop. What it
        leaves stays queued for the next worker."""
        deadline = time.monotonic() + self.drain_seconds
        try:
            while time.monotonic() < deadline and await self.run_once(wait_seconds=0):
                pass
        except Exception as error:
            log.error("draining the delivery queue failed: %r", error)


async def deliver_batch(
    batch: list[Delivery],
    store: MessageStore,
    publisher: EventPublisher,
    *,
    metrics: Metrics = NO_METRICS,
    clock: Callable[[], datetime] = utc_now,
    spans: ProcessSpans | None = None,
) -> list[bool]:
    """Deliver a received batch; True for each item delivered. Recipients are served
    concurrently, and each one's messages in order, each stored and published before the next:
    the store serialises changes to one user anyway, and this way the user's live events also
    go out in version order, so subscribers following versions need not read the log to fill
    what only arrived late. Acknowledging is the caller's: the long-polling worker deletes
    from SQS, a Lambda handler reports the failures and lets the event source mapping delete
    the rest."""
    lanes: dict[str, list[int]] = {}
    for index, item in enumerate(batch):
        recipient = item.message.recipient_id if item.message is not None else ""
        lanes.setdefault(recipient, []).append(index)
    outcomes = [False] * len(batch)

    async def lane(indexes: list[int]) -> None:
        for index in indexes:
            delivering = _deliver_one(batch[index], store, publisher, metrics, clock)
            if spans is None:
                outcomes[index] = await delivering
            else:
                outcomes[index] = await spans.process(batch[index], delivering)

    await asyncio.gather(*(lane(indexes) for indexes in lanes.values()))
    return outcomes


async def _deliver_one(
    item: Delivery,
    store: MessageStore,
    publisher: EventPublisher,
    metrics: Metrics,
    clock: Callable[[], datetime],
) -> bool:
    # Logged, and published on, under the id of the request that sent the message; a
    # payload from before request ids gets one of its own.
    with request_id_bound(item.request_id or new_request_id()):
        outcome = await _outcome_of(item, store, publisher, metrics, clock)
    metrics.delivery_attempted(outcome)
    return outcome in ("delivered", "duplicate", "deleted")


async def _outcome_of(
    item: Delivery,
    store: MessageStore,
    publisher: EventPublisher,
    metrics: Metrics,
    clock: Callable[[], datetime],
) -> DeliveryOutcome:
    if item.message is None:
        # Left on the queue: after the configured receives SQS moves it to the DLQ.
        log.error("undecodable queue message (receive %d), leaving it", item.receive_count)
        return "undecodable"
    try:
        delivered = await deliver(item.message, store, publisher, metrics=metrics, clock=clock)
    except Exception as error:
        log.warning(
            "delivery of %s failed (receive %d), will retry: %r",
            item.message.id,
            item.receive_count,
            error,
            extra={"message_id": item.message.id, "receive_count": item.receive_count},
        )
        return "failed"
    if delivered.deleted:
        return "deleted"
    return "delivered" if delivered.stored else "duplicate"


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
