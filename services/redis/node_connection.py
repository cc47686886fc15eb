"""The listening side of the event hub: the one pub/sub connection to one Redis node, the
channels it carries, and the loop that reads it and fans each event out to the queues of its
channel's subscribers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from services.change_log import LiveChange
from services.domain import MessageReceived
from services.message_codec import decode_published_event
from services.redis.clients import REDIS_ERRORS
from services.redis.subscriber_queue import SubscriberQueue
from services.redis.topology import PubSubCommands

log = logging.getLogger("inboxql.events")

# Subscribing to this first opens a node's shared connection before any user channel shares it.
# Classic SUBSCRIBE: any cluster node accepts it, whatever its slots.
CONTROL_CHANNEL = "inboxql:hub"
MAX_BACKOFF_SECONDS = 5.0


# One per user with a subscription here: thousands at once.
@dataclass(slots=True)
class _Channel:
    queues: set[SubscriberQueue] = field(default_factory=set)
    # Each waiter resolves once this many subscribe confirmations have arrived.
    waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)

    def release_waiters(self) -> None:
        for _, waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(None)
        self.waiters = []


class NodeConnection:
    """The one pub/sub connection to one Redis node, and the channels it carries.
    `run()` reads it until cancelled, reconnecting with backoff."""

    def __init__(
        self,
        node: str,
        client: Redis,
        *,
        commands: PubSubCommands,
        on_trouble: Callable[[], None],
    ) -> None:
        self.node = node
        self.channels: dict[str, _Channel] = {}
        self._client = client
        self._commands = commands
        self._on_trouble = on_trouble
        # channel -> (subscribes sent, confirmations received) on the current connection;
        # outlives a channel's _Channel so that a late confirmation is not miscounted.
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = asyncio.Lock()
        self._pubsub: Any = None
        self._control_confirmations = 0

    async def run(self) -> None:
        delay = 0.1
        first = True
        while True:
            pubsub = self._client.pubsub()
            try:
                async with self._lock:
                    self._control_confirmations = 0
                    await pubsub.subscribe(CONTROL_CHANNEL)
                    self._pubsub = pubsub
                    for name in self.channels:
                        await self._send_subscribe(name)
                if not first:
                    log.info("redis pub/sub on %s reconnected; subscribers will resync", self.node)
                    self.broadcast_gap()
                first, delay = False, 0.1
                async for raw in pubsub.listen():
                    self._dispatch(raw)
            except REDIS_ERRORS as error:
                log.warning(
                    "redis pub/sub on %s lost (%s); retrying in %.1fs", self.node, error, delay
                )
                self._on_trouble()
            finally:
                self._pubsub = None
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            self.broadcast_gap()
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    async def add(self, name: str, queue: SubscriberQueue) -> asyncio.Future[None]:
        """Carry `queue` on channel `name`; resolves once Redis confirmed the subscription."""
        async with self._lock:
            channel = self.channels.get(name)
            if channel is None:
                channel = self.channels[name] = _Channel()
                await self._send_subscribe(name)
            channel.queues.add(queue)
            sent, acked = self._counts.get(name, (0, 0))
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if acked >= sent > 0:
                future.set_result(None)
            else:
                channel.waiters.append((sent, future))
            return future

    async def discard(self, name: str, queue: SubscriberQueue) -> None:
        async with self._lock:
            channel = self.channels.get(name)
            if channel is None:
                return
            channel.queues.discard(queue)
            if not channel.queues:
                await self._drop(name)

    async def take(self, name: str) -> set[SubscriberQueue]:
        """Stop carrying `name` and hand over its queues (the channel moved elsewhere)."""
        async with self._lock:
            channel = self.channels.get(name)
            if channel is None:
                return set()
            await self._drop(name)
            return channel.queues

    async def _drop(self, name: str) -> None:
        """Called with the lock held."""
        channel = self.channels.pop(name)
        # A subscriber still waiting for its confirmation gets a gap marker instead, from
        # whoever carries the channel next.
        channel.release_waiters()
        if self._pubsub is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                await getattr(self._pubsub, self._commands.unsubscribe)(name)

    async def _send_subscribe(self, name: str) -> None:
        """Called with the lock held."""
        sent, acked = self._counts.get(name, (0, 0))
        if self._pubsub is None:
            return  # run() subscribes every channel when it (re)connects
        self._counts[name] = (sent + 1, acked)
        try:
            await getattr(self._pubsub, self._commands.subscribe)(name)
        except REDIS_ERRORS as error:
            log.warning("redis subscribe failed (%s); will resubscribe on reconnect", error)

    def _dispatch(self, raw: dict[str, Any]) -> None:
        kind = raw.get("type")
        name = raw.get("channel")
        if isinstance(name, bytes):
            name = name.decode()
        if not isinstance(name, str):
            return
        if kind == "subscribe" and name == CONTROL_CHANNEL:
            self._control_confirmations += 1
            if self._control_confirmations > 1:
                # redis-py reconnected and resubscribed by itself: events may have been lost.
                self.broadcast_gap()
        elif kind == self._commands.subscribe:
            self._confirm(name)
        elif kind == self._commands.unsubscribe:
            if name in self.channels:
                # Not ours: the node gave the channel's slot away (resharding, failover).
                log.info("redis node %s dropped channel %s; re-placing it", self.node, name)
                self._on_trouble()
            else:
                self._counts.pop(name, None)
        elif kind == self._commands.message and name in self.channels:
            self._fan_out(name, raw["data"])

    def _fan_out(self, name: str, data: Any) -> None:
        """One event to every subscription of channel `name` here."""
        event, request_id, trace = decode_published_event(data)
        if event is None:
            return
        queues = self.channels[name].queues
        message = event.message if isinstance(event, MessageReceived | LiveChange) else None
        if message is not None:
            log.info(
                "pushing message %s to the %d subscription(s) of its recipient here",
                message.id,
                len(queues),
                extra={"request_id": request_id, "message_id": message.id},
            )
        if trace is None:
            for queue in queues:
                queue.offer(event)
        else:
            for queue in queues:
                queue.offer_traced(event, trace)

    def _confirm(self, name: str) -> None:
        sent, acked = self._counts.get(name, (0, 0))
        self._counts[name] = (sent, acked + 1)
        channel = self.channels.get(name)
        if channel is not None:
            still = []
            for target, waiter in channel.waiters:
                if acked + 1 >= target and not waiter.done():
                    waiter.set_result(None)
                elif not waiter.done():
                    still.append((target, waiter))
            channel.waiters = still

    def broadcast_gap(self) -> None:
        self._counts.clear()
        for channel in self.channels.values():
            for queue in channel.queues:
                queue.offer(None)
