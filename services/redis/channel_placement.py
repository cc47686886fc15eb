"""Which node connection carries each subscribed channel: opening a node's connection on first
use, moving channels when the cluster's slots move or a node comes back, and stopping the
connections at the end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial

from services.redis.clients import REDIS_ERRORS, PubSubChannels
from services.redis.node_connection import MAX_BACKOFF_SECONDS, NodeConnection
from services.redis.subscriber_queue import SubscriberQueue
from services.redis.topology import topology_of

_CANCEL_ROUNDS = 5
_CANCEL_WAIT_SECONDS = 1.0
log = logging.getLogger("inboxql.events")


class ChannelPlacement:
    """The node connections, as tasks of their own, and the channel -> connection map. Every
    change to either holds one lock, so a subscriber arriving while channels move is placed
    where they end up."""

    def __init__(self, channels: PubSubChannels) -> None:
        self._routes = channels
        self._topology = topology_of(channels)
        self._nodes: dict[str, NodeConnection] = {}
        self._node_tasks: dict[str, asyncio.Task[None]] = {}
        # Channel -> the node connection carrying it, and channels no node could be found for
        # yet (the cluster was unreachable): re-placed when Redis answers again.
        self._placed: dict[str, NodeConnection] = {}
        self._unplaced: dict[str, set[SubscriberQueue]] = {}
        self._placing = asyncio.Lock()
        self._trouble = asyncio.Event()

    async def open_standing_nodes(self) -> None:
        """As the hub starts, so that a single node's connection is up before it is needed."""
        for node in self._topology.standing_nodes:
            await self._node(node)

    async def keep_placed(self) -> None:
        """Until cancelled: re-places channels whenever a node reports trouble (a lost
        connection, a moved slot) or some channel is still waiting for a node."""
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

    async def stop(self) -> None:
        await _cancel_and_wait(list(self._node_tasks.values()))

    async def attach(self, name: str, queue: SubscriberQueue) -> asyncio.Future[None]:
        """Resolves once Redis confirmed the subscription, or at once when no node could be
        found for it yet: then its gap marker comes once it is placed."""
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
                done.set_result(None)
                return done
            self._placed[name] = connection
            return await connection.add(name, queue)

    async def detach(self, name: str, queue: SubscriberQueue) -> None:
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

    async def _node(self, node: str) -> NodeConnection:
        """Called with `_placing` held, or before any subscriber exists."""
        connection = self._nodes.get(node)
        if connection is None:
            connection = NodeConnection(
                node,
                self._routes.pubsub_client(node),
                commands=self._topology.commands(),
                on_trouble=self._trouble.set,
            )
            self._nodes[node] = connection
            self._node_tasks[node] = asyncio.create_task(
                connection.run(), name=f"inboxql-pubsub-{node}"
            )
        return connection

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
        standing = self._topology.standing_nodes
        for node, connection in list(self._nodes.items()):
            if connection.channels or node in standing:
                continue
            del self._nodes[node]
            task = self._node_tasks.pop(node)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _gap_for(queue: SubscriberQueue, _: asyncio.Future[None]) -> None:
    queue.offer(None)


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
