"""Live events over Redis pub/sub: one pub/sub connection per process, fanned out to every local
subscriber through its own bounded queue (the shape of encode/broadcaster).

A subscriber is told `None` whenever events may have been missed (its queue overflowed, or the
connection to Redis dropped and came back); it then re-reads the truth from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.domain import InboxEvent, MessageReceived, UserId
from services.errors import DependencyUnavailable
from services.message_codec import decode_event_with_request_id, encode_event
from services.ports import EventStreamItem
from services.request_context import current_request_id

log = logging.getLogger("inboxql.events")

CHANNEL_PREFIX = "inboxql:user:"
# Subscribing to this first opens the one shared connection before any user channel shares it.
CONTROL_CHANNEL = "inboxql:hub"
CONFIRM_TIMEOUT_SECONDS = 2.0


def channel_for(user_id: UserId) -> str:
    return CHANNEL_PREFIX + user_id


@dataclass
class _Channel:
    queues: set[asyncio.Queue[EventStreamItem]] = field(default_factory=set)
    # Each waiter resolves once this many subscribe confirmations have arrived.
    waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)


class RedisEventHub:
    """`EventPublisher` and `EventStream` on Redis. `run()` owns the pub/sub connection."""

    def __init__(self, client: Redis, pubsub_client: Redis, *, queue_size: int = 256) -> None:
        self._redis = client
        self._pubsub_redis = pubsub_client
        self._queue_size = queue_size
        self._channels: dict[str, _Channel] = {}
        # channel -> (SUBSCRIBEs sent, confirmations received) on the current connection;
        # outlives a channel's _Channel so that a late confirmation is not miscounted.
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = asyncio.Lock()
        self._pubsub: Any = None

    async def publish(self, user_id: UserId, event: InboxEvent) -> None:
        try:
            # The request behind the event travels with it, for the subscribers' processes.
            payload = encode_event(event, request_id=current_request_id())
            await self._redis.publish(channel_for(user_id), payload)
        except (RedisError, OSError) as error:
            raise DependencyUnavailable(f"redis publish: {error}") from error

    @contextlib.asynccontextmanager
    async def subscribe(self, user_id: UserId) -> AsyncIterator[AsyncIterator[EventStreamItem]]:
        name = channel_for(user_id)
        queue: asyncio.Queue[EventStreamItem] = asyncio.Queue(self._queue_size)
        confirmed = await self._attach(name, queue)
        # Waiting for Redis to confirm the subscription means that whatever the caller reads
        # next from the store is at least as new as the first event it can receive.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(confirmed), CONFIRM_TIMEOUT_SECONDS)
        try:
            yield _drain(queue)
        finally:
            await self._detach(name, queue)

    async def run(self) -> None:
        """Read the shared connection until cancelled, reconnecting with backoff."""
        delay = 0.1
        first = True
        while True:
            pubsub = self._pubsub_redis.pubsub()
            try:
                async with self._lock:
                    await pubsub.subscribe(CONTROL_CHANNEL)
                    self._pubsub = pubsub
                    for name in self._channels:
                        await self._send_subscribe(name)
                if not first:
                    log.info("redis pub/sub reconnected; subscribers will resync")
                    self._broadcast_gap()
                first, delay = False, 0.1
                async for raw in pubsub.listen():
                    self._dispatch(raw)
            except (RedisError, OSError) as error:
                log.warning("redis pub/sub lost (%s); retrying in %.1fs", error, delay)
            finally:
                self._pubsub = None
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            self._broadcast_gap()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _attach(
        self, name: str, queue: asyncio.Queue[EventStreamItem]
    ) -> asyncio.Future[None]:
        async with self._lock:
            channel = self._channels.get(name)
            if channel is None:
                channel = self._channels[name] = _Channel()
                await self._send_subscribe(name)
            channel.queues.add(queue)
            sent, acked = self._counts.get(name, (0, 0))
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if acked >= sent > 0:
                future.set_result(None)
            else:
                channel.waiters.append((sent, future))
            return future

    async def _detach(self, name: str, queue: asyncio.Queue[EventStreamItem]) -> None:
        async with self._lock:
            channel = self._channels.get(name)
            if channel is None:
                return
            channel.queues.discard(queue)
            if channel.queues:
                return
            del self._channels[name]
            for _, waiter in channel.waiters:
                waiter.cancel()
            if self._pubsub is not None:
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(name)

    async def _send_subscribe(self, name: str) -> None:
        """Called with the lock held."""
        sent, acked = self._counts.get(name, (0, 0))
        if self._pubsub is None:
            return  # run() subscribes every channel when it (re)connects
        self._counts[name] = (sent + 1, acked)
        try:
            await self._pubsub.subscribe(name)
        except (RedisError, OSError) as error:
            log.warning("redis subscribe failed (%s); will resubscribe on reconnect", error)

    def _dispatch(self, raw: dict[str, Any]) -> None:
        kind = raw.get("type")
        name = raw.get("channel")
        if isinstance(name, bytes):
            name = name.decode()
        if not isinstance(name, str):
            return
        if kind == "subscribe":
            sent, acked = self._counts.get(name, (0, 0))
            self._counts[name] = (sent, acked + 1)
            channel = self._channels.get(name)
            if channel is not None:
                still = []
                for target, waiter in channel.waiters:
                    if acked + 1 >= target and not waiter.done():
                        waiter.set_result(None)
                    elif not waiter.done():
                        still.append((target, waiter))
                channel.waiters = still
        elif kind == "unsubscribe" and name not in self._channels:
            self._counts.pop(name, None)
        elif kind == "message" and name in self._channels:
            event, request_id = decode_event_with_request_id(raw["data"])
            if event is None:
                return
            queues = self._channels[name].queues
            if isinstance(event, MessageReceived):
                log.info(
                    "pushing message %s to the %d subscription(s) of its recipient here",
                    event.message.id,
                    len(queues),
                    extra={"request_id": request_id, "message_id": event.message.id},
                )
            for queue in queues:
                _offer(queue, event)

    def _broadcast_gap(self) -> None:
        self._counts.clear()
        for channel in self._channels.values():
            for queue in channel.queues:
                _offer(queue, None)


def _offer(queue: asyncio.Queue[EventStreamItem], item: EventStreamItem) -> None:
    """Never block the one reader on a slow subscriber: when its queue is full, replace what it
    has not read with a gap marker, so it re-reads the truth instead of falling further behind."""
    try:
        queue.put_nowait(item)
    except asyncio.QueueFull:
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)


async def _drain(queue: asyncio.Queue[EventStreamItem]) -> AsyncIterator[EventStreamItem]:
    while True:
        yield await queue.get()
