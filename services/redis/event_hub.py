"""Live events over Redis pub/sub: one pub/sub connection per Redis node that serves a channel
(one in all on a single node), fanned out to every local subscriber through its own bounded
queue (the shape of encode/broadcaster).

A subscriber is told `None` whenever events may have been missed (its queue overflowed, the
connection to Redis dropped and came back, or its channel moved to another cluster node); it
then re-reads the truth from the store.

A count is a state, not a step: an `UnreadCountChanged` replaces any older one still waiting
in a subscriber's queue (the newest count wins), so a slow subscriber holds at most one count
and, when it reads again, gets the newest. Every subscription is one small object (its queue,
its context manager and its iterator at once): thousands of idle ones are held per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from types import TracebackType
from typing import Any

from redis.asyncio import Redis

from services.domain import InboxEvent, MessageReceived, UnreadCountChanged, UserId
from services.errors import DependencyUnavailable
from services.message_codec import decode_event_with_request_id, encode_event
from services.observability.request_ids import current_request_id
from services.ports import EventStreamItem
from services.redis.clients import REDIS_ERRORS, PubSubChannels, SingleNodeChannels

_CANCEL_ROUNDS = 5
_CANCEL_WAIT_SECONDS = 1.0
log = logging.getLogger("inboxql.events")

CHANNEL_PREFIX = "inboxql:user:"
# Subscribing to this first opens a node's shared connection before any user channel shares it.
# Classic SUBSCRIBE: any cluster node accepts it, whatever its slots.
CONTROL_CHANNEL = "inboxql:hub"
CONFIRM_TIMEOUT_SECONDS = 2.0
MAX_BACKOFF_SECONDS = 5.0
DEFAULT_QUEUE_SIZE = 256


def channel_for(user_id: UserId) -> str:
    return CHANNEL_PREFIX + user_id


# One per user with a subscription here: thousands at once.
@dataclass(slots=True)
class _Channel:
    queues: set[Subscription] = field(default_factory=set)
    # Each waiter resolves once this many subscribe confirmations have arrived.
    waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)

    def release_waiters(self) -> None:
        for _, waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(None)
        self.waiters = []


class _NodeConnection:
    """The one pub/sub connection to one Redis node, and the channels it carries.
    `run()` reads it until cancelled, reconnecting with backoff."""

    def __init__(
        self, node: str, client: Redis, *, sharded: bool, on_trouble: Callable[[], None]
    ) -> None:
        self.node = node
        self.channels: dict[str, _Channel] = {}
        self._client = client
        # SSUBSCRIBE/SUNSUBSCRIBE and `smessage` on a cluster with sharded pub/sub.
        self._prefix = "s" if sharded else ""
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

    async def add(self, name: str, queue: Subscription) -> asyncio.Future[None]:
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

    async def discard(self, name: str, queue: Subscription) -> None:
        async with self._lock:
            channel = self.channels.get(name)
            if channel is None:
                return
            channel.queues.discard(queue)
            if not channel.queues:
                await self._drop(name)

    async def take(self, name: str) -> set[Subscription]:
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
                await getattr(self._pubsub, self._prefix + "unsubscribe")(name)

    async def _send_subscribe(self, name: str) -> None:
        """Called with the lock held."""
        sent, acked = self._counts.get(name, (0, 0))
        if self._pubsub is None:
            return  # run() subscribes every channel when it (re)connects
        self._counts[name] = (sent + 1, acked)
        try:
            await getattr(self._pubsub, self._prefix + "subscribe")(name)
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
        elif kind == self._prefix + "subscribe":
            self._confirm(name)
        elif kind == self._prefix + "unsubscribe":
            if name in self.channels:
                # Not ours: the node gave the channel's slot away (resharding, failover).
                log.info("redis node %s dropped channel %s; re-placing it", self.node, name)
                self._on_trouble()
            else:
                self._counts.pop(name, None)
        elif kind == self._prefix + "message" and name in self.channels:
            event, request_id = decode_event_with_request_id(raw["data"])
            if event is None:
                return
            queues = self.channels[name].queues
            if isinstance(event, MessageReceived):
                log.info(
                    "pushing message %s to the %d subscription(s) of its recipient here",
                    event.message.id,
                    len(queues),
                    extra={"request_id": request_id, "message_id": event.message.id},
                )
            for queue in queues:
                queue.offer(event)

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


class RedisEventHub:
    """`EventPublisher` and `EventStream` on Redis. `run()` owns the pub/sub connections: one
    per node that serves a subscribed channel, opened on first use."""

    def __init__(self, channels: PubSubChannels, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        """`channels` places channels on nodes (services.redis.clients)."""
        self._routes = channels
        self._queue_size = queue_size
        self._nodes: dict[str, _NodeConnection] = {}
        self._node_tasks: dict[str, asyncio.Task[None]] = {}
        # Channel -> the node connection carrying it, and channels no node could be found for
        # yet (the cluster was unreachable): re-placed when Redis answers again.
        self._placed: dict[str, _NodeConnection] = {}
        self._unplaced: dict[str, set[Subscription]] = {}
        self._placing = asyncio.Lock()
        self._trouble = asyncio.Event()

    async def publish(self, user_id: UserId, event: InboxEvent) -> None:
        try:
            # The request behind the event travels with it, for the subscribers' processes.
            payload = encode_event(event, request_id=current_request_id())
            await self._routes.publish(channel_for(user_id), payload)
        except REDIS_ERRORS as error:
            raise DependencyUnavailable(f"redis publish: {error}") from error

    def subscribe(self, user_id: UserId) -> Subscription:
        return Subscription(self, channel_for(user_id), self._queue_size)

    async def _open(self, subscription: Subscription) -> None:
        confirmed = await self._attach(subscription.channel, subscription)
        try:
            # Waiting for Redis to confirm the subscription means that whatever the caller
            # reads next from the store is at least as new as the first event it can receive.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(confirmed), CONFIRM_TIMEOUT_SECONDS)
        except BaseException:
            # Cancelled while waiting: nobody will leave this subscription, so leave it here.
            await self._detach(subscription.channel, subscription)
            raise

    async def _close(self, subscription: Subscription) -> None:
        await self._detach(subscription.channel, subscription)

    async def run(self) -> None:
        """Until cancelled: the node connections run as tasks of their own; this re-places
        channels whenever a node reports trouble (a lost connection, a moved slot)."""
        try:
            # A single node is known up front: its connection opens now, as it always has.
            if isinstance(self._routes, SingleNodeChannels):
                await self._node(await self._routes.node_for(CONTROL_CHANNEL))
            delay = 0.1
            while True:
                if not self._unplaced:
                    await self._trouble.wait()
                self._trouble.clear()
                if await self._place_again():
                    delay = 0.1
                else:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, MAX_BACKOFF_SECONDS)
        finally:
            await _cancel_and_wait(list(self._node_tasks.values()))

    async def _node(self, node: str) -> _NodeConnection:
        """Called with `_placing` held, or before any subscriber exists."""
        connection = self._nodes.get(node)
        if connection is None:
            connection = _NodeConnection(
                node,
                self._routes.pubsub_client(node),
                sharded=self._routes.sharded,
                on_trouble=self._trouble.set,
            )
            self._nodes[node] = connection
            self._node_tasks[node] = asyncio.create_task(
                connection.run(), name=f"inboxql-pubsub-{node}"
            )
        return connection

    async def _attach(self, name: str, queue: Subscription) -> asyncio.Future[None]:
        async with self._placing:
            connection = self._placed.get(name)
            if connection is None and name not in self._unplaced:
                try:
                    connection = await self._node(await self._routes.node_for(name))
                except REDIS_ERRORS as error:
                    log.warning("no redis node for %s yet (%s); will retry", name, error)
            if connection is None:
                self._unplaced.setdefault(name, set()).add(queue)
                self._trouble.set()
                done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                done.set_result(None)  # nothing to wait for: the gap comes once it is placed
                return done
            self._placed[name] = connection
            return await connection.add(name, queue)

    async def _detach(self, name: str, queue: Subscription) -> None:
        async with self._placing:
            waiting = self._unplaced.get(name)
            if waiting is not None:
                waiting.discard(queue)
                if not waiting:
                    del self._unplaced[name]
                return
            connection = self._placed.get(name)
            if connection is None:
                return
            await connection.discard(name, queue)
            if name not in connection.channels:
                del self._placed[name]

    async def _place_again(self) -> bool:
        """Put every channel on the node that serves it now. False if Redis did not answer."""
        async with self._placing:
            try:
                await self._routes.refresh()
                wanted = {
                    name: await self._routes.node_for(name)
                    for name in [*self._placed, *self._unplaced]
                }
            except REDIS_ERRORS as error:
                log.warning("could not read the redis cluster's slots: %s", error)
                return False
            for name, node in wanted.items():
                current = self._placed.get(name)
                if current is not None and current.node == node:
                    continue
                if current is not None:
                    queues = await current.take(name)
                else:
                    queues = self._unplaced.pop(name, set())
                target = await self._node(node)
                for queue in queues:
                    # It may have missed events while it moved: once the new node confirms
                    # the subscription, it re-reads the truth.
                    confirmed = await target.add(name, queue)
                    confirmed.add_done_callback(partial(_gap_for, queue))
                self._placed[name] = target
                log.info("channel %s now on redis node %s", name, node)
            await self._stop_idle_nodes()
            return True

    async def _stop_idle_nodes(self) -> None:
        if isinstance(self._routes, SingleNodeChannels):
            return
        for node, connection in list(self._nodes.items()):
            if connection.channels:
                continue
            del self._nodes[node]
            task = self._node_tasks.pop(node)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _gap_for(queue: Subscription, _: asyncio.Future[None]) -> None:
    queue.offer(None)


class Subscription:
    """One subscriber of one channel: its bounded queue, the async context manager that
    attaches it to the hub, and the iterator of what it receives, in one object. It has one
    reader (whoever entered it): a second one reading at the same time is not supported."""

    __slots__ = ("_hub", "_items", "_size", "_waiter", "channel")

    def __init__(self, hub: RedisEventHub, channel: str, size: int) -> None:
        if size < 1:
            raise ValueError("a subscription's queue holds at least one item")
        self._hub = hub
        self.channel = channel
        self._size = size
        self._items: list[EventStreamItem] = []
        self._waiter: asyncio.Future[None] | None = None

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

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> EventStreamItem:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)

    def pending(self) -> list[EventStreamItem]:
        """What waits to be read, oldest first (a copy)."""
        return list(self._items)

    def offer(self, item: EventStreamItem) -> None:
        """Never blocks the one reader on a slow subscriber. A newer count replaces an older one
        still waiting (an older one arriving late is dropped: versions only grow); when the
        queue is full, what the subscriber has not read is replaced with a gap marker, so it
        re-reads the truth instead of falling further behind."""
        items = self._items
        if isinstance(item, UnreadCountChanged):
            for index, waiting in enumerate(items):
                if isinstance(waiting, UnreadCountChanged):
                    if waiting.version >= item.version:
                        return
                    del items[index]
                    break  # there is never more than one
        if item is None and items and items[-1] is None:
            return  # already told
        if len(items) >= self._size:
            items.clear()
            item = None
        items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


async def _cancel_and_wait(tasks: list[asyncio.Task[None]]) -> None:
    """Cancels the node tasks and waits for them, cancelling again what is still running: a
    cancellation that lands inside redis-py's `listen()` can be swallowed there (seen in the
    test suite), and one lost cancel must not hang the process's shutdown."""
    pending = set(tasks)
    for _ in range(_CANCEL_ROUNDS):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=_CANCEL_WAIT_SECONDS)
    for task in set(tasks) - pending:
        if not task.cancelled():
            task.exception()  # retrieved, as gather(return_exceptions=True) did
    if pending:
        log.warning("%d pub/sub node task(s) ignored cancellation; left behind", len(pending))
