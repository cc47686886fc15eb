"""Live events over Redis pub/sub: one pub/sub connection per Redis node that serves a channel
(one in all on a single node), fanned out to every local subscriber through its own bounded
queue (the shape of encode/broadcaster).

A subscriber is told `None` whenever events may have been missed (its queue overflowed, the
connection to Redis dropped and came back, or its channel moved to another cluster node); it
then re-reads the truth from the store. Counts coalesce in its queue: the newest count wins
(services/redis/subscriber_queue.py).

The parts: `SubscriberQueue` (one subscriber's queue), `NodeConnection` (node_connection.py:
reads one node's connection and fans events out), `ChannelPlacement` (channel_placement.py:
which connection carries which channel) and `Topology` (topology.py: all that differs between
one node and a cluster). This module is the ports' side: publishing and subscribing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from types import TracebackType

from services.domain import UserId
from services.errors import DependencyUnavailable
from services.message_codec import encode_event
from services.observability.request_ids import current_request_id
from services.ports import LiveEvent
from services.redis.channel_placement import ChannelPlacement
from services.redis.clients import REDIS_ERRORS, PubSubChannels
from services.redis.subscriber_queue import DEFAULT_QUEUE_SIZE, SubscriberQueue

CHANNEL_PREFIX = "inboxql:user:"
CONFIRM_TIMEOUT_SECONDS = 2.0


def channel_for(user_id: UserId) -> str:
    return CHANNEL_PREFIX + user_id


class RedisEventHub:
    """`EventPublisher` and `EventStream` on Redis. `run()` owns the pub/sub connections: one
    per node that serves a subscribed channel, opened on first use."""

    def __init__(self, channels: PubSubChannels, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        """`channels` places channels on nodes (services.redis.clients)."""
        self._routes = channels
        self._queue_size = queue_size
        self._placement = ChannelPlacement(channels)

    async def publish(self, user_id: UserId, event: LiveEvent) -> None:
        await self._publish(user_id, event, trace=None)

    async def _publish(
        self, user_id: UserId, event: LiveEvent, *, trace: Mapping[str, str] | None
    ) -> None:
        """`trace`: the publisher's trace context, which a traced hub sends with the event."""
        try:
            # The request behind the event travels with it, for the subscribers' processes.
            payload = encode_event(event, request_id=current_request_id(), trace=trace)
            await self._routes.publish(channel_for(user_id), payload)
        except REDIS_ERRORS as error:
            raise DependencyUnavailable(f"redis publish: {error}") from error

    def subscribe(self, user_id: UserId, *, counts_only: bool = False) -> Subscription:
        return Subscription(self, channel_for(user_id), self._queue_size, counts_only=counts_only)

    async def _open(self, subscription: Subscription) -> None:
        confirmed = await self._placement.attach(subscription.channel, subscription)
        try:
            # Waiting for Redis to confirm the subscription means that whatever the caller
            # reads next from the store is at least as new as the first event it can receive.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(confirmed), CONFIRM_TIMEOUT_SECONDS)
        except BaseException:
            # Cancelled while waiting: nobody will leave this subscription, so leave it here.
            await self._placement.detach(subscription.channel, subscription)
            raise

    async def _close(self, subscription: Subscription) -> None:
        await self._placement.detach(subscription.channel, subscription)

    async def run(self) -> None:
        """Until cancelled: the node connections run as tasks of their own; this re-places
        channels whenever a node reports trouble (a lost connection, a moved slot)."""
        try:
            await self._placement.open_standing_nodes()
            await self._placement.keep_placed()
        finally:
            await self._placement.stop()


class Subscription(SubscriberQueue):
    """One subscriber of one channel: its bounded queue, the async context manager that
    attaches it to the hub, and the iterator of what it receives, in one object (thousands of
    idle ones are held per process)."""

    __slots__ = ("_hub", "channel")

    def __init__(
        self, hub: RedisEventHub, channel: str, size: int, *, counts_only: bool = False
    ) -> None:
        super().__init__(size, counts_only=counts_only)
        self._hub = hub
        self.channel = channel

    async def __aenter__(self) -> Subscription:
        await self._hub._open(self)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._hub._close(self)
