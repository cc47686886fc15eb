"""InboxQL on a real 3-primary Redis Cluster started on loopback by the tests
(INBOXQL_REDIS_CLUSTER=true): the body cache across slots, sharded pub/sub with one connection
per node, persisted queries, the whole app, and a channel whose slot moves to another node."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, aclosing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from redis.asyncio import Redis, RedisCluster
from redis.exceptions import RedisClusterException

from services.bootstrap import bootstrap
from services.domain import Message, UnreadCountChanged, UserId, new_message_id
from services.errors import DependencyUnavailable
from services.local.stack import StackEndpoints
from services.ports import EventStreamItem
from services.redis.clients import ClusterChannels, RedisClients, node_url, redis_clients
from services.redis.event_hub import RedisEventHub, channel_for
from services.redis.message_cache import KEY_PREFIX, RedisMessageCache
from services.redis.persisted_queries import RedisPersistedQueryStore, document_hash
from services.settings import Settings
from tests.conftest import new_user, stack_endpoints, stack_settings
from tests.e2e.conftest import GraphQLClient
from tests.integration.test_redis_servers import (
    RedisServer,
    apq,
    inboxql_server,
    next_count,
    start_cluster,
    subscribe_count,
)
from tests.polling import eventually

STEP_TIMEOUT = 10.0
DEADLINE_SECONDS = 30.0


def cluster_settings(nodes: list[RedisServer], **overrides: object) -> Settings:
    # One node's URL is enough: the client learns the others from CLUSTER SLOTS.
    return Settings(redis_url=nodes[0].url, redis_cluster=True).with_overrides(**overrides)


@pytest.fixture
async def clients(cluster: list[RedisServer]) -> AsyncIterator[RedisClients]:
    built = redis_clients(cluster_settings(cluster))
    try:
        yield built
    finally:
        await built.aclose()


@pytest.fixture
async def hub(clients: RedisClients) -> AsyncIterator[RedisEventHub]:
    running = RedisEventHub(clients.channels)
    task = asyncio.create_task(running.run())
    try:
        yield running
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def command(client: Redis, *args: object) -> Any:
    return await client.execute_command(*args)  # type: ignore[no-untyped-call]


def cluster_of(clients: RedisClients) -> RedisCluster:
    assert isinstance(clients.commands, RedisCluster)
    return clients.commands


def a_message(recipient: str) -> Message:
    now = datetime.now(UTC).replace(microsecond=0)
    return Message(new_message_id(now), UserId("bob"), UserId(recipient), "hi", now)


async def next_item(stream: AsyncIterator[EventStreamItem]) -> EventStreamItem:
    return await asyncio.wait_for(anext(stream), STEP_TIMEOUT)


async def node_of(clients: RedisClients, key: str) -> str:
    return await clients.channels.node_for(key)


async def users_on_every_node(clients: RedisClients, per_node: int) -> dict[str, list[UserId]]:
    """`per_node` fresh users whose channels live on each node."""
    found: dict[str, list[UserId]] = {}
    while len(found) < 3 or min(len(users) for users in found.values()) < per_node:
        user = UserId(new_user("u"))
        placed = found.setdefault(await node_of(clients, channel_for(user)), [])
        if len(placed) < per_node:
            placed.append(user)
    return found


async def test_the_client_is_a_cluster_client_with_sharded_pubsub(clients: RedisClients) -> None:
    assert isinstance(clients.channels, ClusterChannels)
    await clients.channels.node_for(channel_for(UserId("anyone")))
    assert clients.channels.sharded


async def test_cache_reads_and_writes_across_slots(clients: RedisClients) -> None:
    cluster = cluster_of(clients)
    messages = [a_message("alice") for _ in range(30)]
    keys = [KEY_PREFIX + m.id for m in messages]
    assert len({await node_of(clients, key) for key in keys}) == 3
    # What the single-node cache did, one MGET, cannot work here.
    with pytest.raises(RedisClusterException):
        await cluster.mget(keys)

    cache = RedisMessageCache(cluster, ttl_seconds=60)
    await cache.put_many(messages)
    absent = a_message("alice")
    wanted = [absent.id, *(m.id for m in reversed(messages))]
    assert await cache.get_many(wanted) == {m.id: m for m in messages}
    assert 0 < await cluster.ttl(keys[0]) <= 60


async def test_a_publish_reaches_the_subscriber_through_the_channels_node(
    clients: RedisClients, hub: RedisEventHub, cluster: list[RedisServer]
) -> None:
    alice = UserId(new_user("alice"))
    channel = channel_for(alice)
    owner = await node_of(clients, channel)
    async with hub.subscribe(alice) as stream:
        for node in cluster:
            async with Redis(port=node.port) as client:
                counts = await command(client, "PUBSUB", "SHARDNUMSUB", channel)
            # Sharded: only the node serving the channel's slot knows the subscription.
            expected = 1 if owner == f"127.0.0.1:{node.port}" else 0
            assert counts == [channel.encode(), expected]
        await hub.publish(alice, UnreadCountChanged(alice, 1, 1))
        assert await next_item(stream) == UnreadCountChanged(alice, 1, 1)


async def test_users_on_every_node_get_their_own_pushes_over_one_connection_per_node(
    clients: RedisClients, hub: RedisEventHub, cluster: list[RedisServer]
) -> None:
    by_node = await users_on_every_node(clients, per_node=2)
    users = [user for placed in by_node.values() for user in placed]
    async with AsyncExitStack() as stack:
        streams = {user: await stack.enter_async_context(hub.subscribe(user)) for user in users}
        for version, user in enumerate(users, start=1):
            await hub.publish(user, UnreadCountChanged(user, version, version))
        for version, user in enumerate(users, start=1):
            assert await next_item(streams[user]) == UnreadCountChanged(user, version, version)
        # A second round: had anyone got another user's event, it would come before this.
        for user in users:
            await hub.publish(user, UnreadCountChanged(user, 100, 100))
        for user in users:
            assert await next_item(streams[user]) == UnreadCountChanged(user, 100, 100)
        for node in cluster:
            async with Redis(port=node.port) as client:
                listed = await client.client_list(_type="pubsub")
            ours = [c for c in listed if int(c.get("ssub", 0)) >= 2]
            assert len(ours) == 1, listed


async def test_persisted_queries_on_a_cluster(clients: RedisClients) -> None:
    store = RedisPersistedQueryStore(cluster_of(clients), ttl_seconds=60)
    documents = [f"query Q{n}{uuid.uuid4().hex[:6]} {{ unreadCount }}" for n in range(10)]
    for document in documents:
        await store.put(document_hash(document), document)
    assert [await store.get(document_hash(d)) for d in documents] == documents
    assert await store.get(document_hash("query Unknown { unreadCount }")) is None


async def test_the_app_on_a_cluster_delivers_and_pushes(
    stack: StackEndpoints, session_tag: str, cluster: list[RedisServer]
) -> None:
    settings: Settings = stack_settings(
        stack,
        session_tag,
        queue_name=f"cluster-{uuid.uuid4().hex[:10]}",
        redis_url=cluster[0].url,
        redis_cluster=True,
        long_poll_seconds=1,
    )
    alice, bob = UserId(new_user("alice")), UserId(new_user("bob"))
    async with bootstrap(settings, stack_endpoints(stack), workers=1, provision=True) as app:
        counts = aiter(app.inbox.watch_unread_count(alice))
        assert await asyncio.wait_for(anext(counts), STEP_TIMEOUT) == 0
        sent = [await app.sending.send_message(bob, alice, f"hi {n}") for n in range(3)]
        seen = [0]
        deadline = time.monotonic() + DEADLINE_SECONDS
        while seen[-1] != 3:
            assert time.monotonic() < deadline, seen
            seen.append(await asyncio.wait_for(anext(counts), STEP_TIMEOUT))
        assert seen == sorted(seen)
        # Bodies: the store the first time, then the cache, whose keys span the cluster.
        ids = [m.id for m in sent]
        assert set(await app.inbox.load_messages(ids)) == set(ids)
        cached = await RedisMessageCache(app.clients.redis, 60).get_many(ids)
        assert {m.body for m in cached.values() if m is not None} == {"hi 0", "hi 1", "hi 2"}
        await counts.aclose()  # type: ignore[attr-defined]


async def test_a_channel_whose_slot_moves_follows_it(
    clients: RedisClients, hub: RedisEventHub, cluster: list[RedisServer]
) -> None:
    """Resharding: the slot of a subscribed channel moves to another node. Redis drops the
    subscription (SUNSUBSCRIBE); the hub re-places the channel on the new owner, tells the
    subscriber about the gap, and events flow from there."""
    alice = UserId(new_user("alice"))
    channel = channel_for(alice)
    ports = {f"127.0.0.1:{node.port}": node.port for node in cluster}
    source = await node_of(clients, channel)
    target = next(name for name in ports if name != source)
    async with hub.subscribe(alice) as stream:
        await hub.publish(alice, UnreadCountChanged(alice, 1, 1))
        assert await next_item(stream) == UnreadCountChanged(alice, 1, 1)
        await move_slot(cluster_of(clients).keyslot(channel), ports[source], ports[target], ports)
        assert await next_item(stream) is None
        await wait_for_shard_subscriber(ports[target], channel)
        await hub.publish(alice, UnreadCountChanged(alice, 2, 2))
        item = await next_item(stream)
        while item is None:
            item = await next_item(stream)
        assert item == UnreadCountChanged(alice, 2, 2)


async def move_slot(slot: int, source: int, target: int, ports: dict[str, int]) -> None:
    """Move an empty slot the way redis-cli --cluster reshard does."""
    async with Redis(port=source) as src, Redis(port=target) as dst:
        source_id = (await command(src, "CLUSTER", "MYID")).decode()
        target_id = (await command(dst, "CLUSTER", "MYID")).decode()
        await command(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        await command(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        await command(dst, "CLUSTER", "SETSLOT", slot, "NODE", target_id)
        await command(src, "CLUSTER", "SETSLOT", slot, "NODE", target_id)
    for port in ports.values():
        if port not in (source, target):
            async with Redis(port=port) as other:
                await command(other, "CLUSTER", "SETSLOT", slot, "NODE", target_id)


async def wait_for_shard_subscriber(port: int, channel: str) -> None:
    async with Redis(port=port) as client:

        async def subscribed() -> bool:
            return bool((await command(client, "PUBSUB", "SHARDNUMSUB", channel))[1] >= 1)

        await eventually(
            subscribed,
            f"{channel} to be subscribed on {port}",
            timeout=DEADLINE_SECONDS,
            interval=0.1,
        )


def test_node_urls_keep_the_scheme_credentials_and_options() -> None:
    base = "rediss://user:s3cret@cache.example.com:6379/0?ssl_cert_reqs=required"
    assert node_url(base, "10.0.0.7", 6380) == (
        "rediss://user:s3cret@10.0.0.7:6380?ssl_cert_reqs=required"
    )
    assert node_url("redis://127.0.0.1:7000", "::1", 7001) == "redis://[::1]:7001"


async def test_a_node_stopped_and_restarted_resumes_its_channels(tmp_path: Path) -> None:
    """The primary serving a subscribed channel stops and comes back on the same port (same
    cluster identity): publishing fails meanwhile, the subscriber is told about the gap, and
    events flow again once the node is back."""
    nodes = start_cluster(tmp_path)
    built = redis_clients(cluster_settings(nodes))
    hub = RedisEventHub(built.channels)
    task = asyncio.create_task(hub.run())
    try:
        alice = UserId(new_user("alice"))
        channel = channel_for(alice)
        owner = await node_of(built, channel)
        node = next(n for n in nodes if f"127.0.0.1:{n.port}" == owner)
        async with hub.subscribe(alice) as stream:
            await hub.publish(alice, UnreadCountChanged(alice, 1, 1))
            assert await next_item(stream) == UnreadCountChanged(alice, 1, 1)
            await asyncio.to_thread(node.stop)
            assert await next_item(stream) is None
            with pytest.raises(DependencyUnavailable):
                await hub.publish(alice, UnreadCountChanged(alice, 2, 2))
            await asyncio.to_thread(node.start)
            await wait_for_shard_subscriber(node.port, channel)
            await publish_when_accepted(hub, alice, UnreadCountChanged(alice, 3, 3))
            item = await next_item(stream)
            while item is None:
                item = await next_item(stream)
            assert item == UnreadCountChanged(alice, 3, 3)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await built.aclose()
        for each in nodes:
            each.stop()


async def publish_when_accepted(
    hub: RedisEventHub, user: UserId, event: UnreadCountChanged
) -> None:
    """The command client may need a try or two to reconnect to a restarted node."""

    async def published() -> bool:
        try:
            await hub.publish(user, event)
        except DependencyUnavailable:
            return False
        return True

    await eventually(published, "publishing to work again", timeout=DEADLINE_SECONDS, interval=0.1)


async def test_a_subscription_made_while_the_cluster_is_down_starts_when_it_is_back(
    tmp_path: Path,
) -> None:
    """No node answers when the subscription starts, so no node can be chosen for it yet: the
    hub keeps trying, places it once the cluster answers, and tells the subscriber (gap)."""
    nodes = start_cluster(tmp_path)
    for node in nodes:
        node.stop()
    built = redis_clients(cluster_settings(nodes, connect_timeout_seconds=0.5))
    hub = RedisEventHub(built.channels)
    task = asyncio.create_task(hub.run())
    try:
        alice = UserId(new_user("alice"))
        async with hub.subscribe(alice) as stream:
            for node in nodes:
                await asyncio.to_thread(node.start)
            assert await next_item(stream) is None
            owner = await node_of(built, channel_for(alice))
            await wait_for_shard_subscriber(int(owner.rpartition(":")[2]), channel_for(alice))
            await publish_when_accepted(hub, alice, UnreadCountChanged(alice, 1, 1))
            item = await next_item(stream)
            while item is None:
                item = await next_item(stream)
            assert item == UnreadCountChanged(alice, 1, 1)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await built.aclose()
        for node in nodes:
            node.stop()


async def test_the_server_on_a_cluster(
    stack: StackEndpoints, session_tag: str, cluster: list[RedisServer], tmp_path: Path
) -> None:
    """`server.py` with INBOXQL_REDIS_CLUSTER=true: live counts over WebSocket for users whose
    channels live on different nodes, message bodies, and persisted queries over HTTP."""
    settings = stack_settings(
        stack,
        session_tag,
        queue_name=f"cluster-{uuid.uuid4().hex[:10]}",
        redis_url=cluster[0].url,
        redis_cluster=True,
    )
    async with (
        inboxql_server(
            stack, settings, tmp_path / "server.log", INBOXQL_REDIS_CLUSTER="true"
        ) as server,
        httpx.AsyncClient(base_url=server.url, timeout=60) as http,
        aclosing(redis_clients(settings)) as clients,
    ):
        by_node = await users_on_every_node(clients, per_node=1)
        users = [placed[0] for placed in by_node.values()]
        bob = new_user("bob")
        async with AsyncExitStack() as sockets:
            watching = []
            for user in users:
                ws = await sockets.enter_async_context(
                    websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
                )
                await subscribe_count(ws, server.token(user))
                assert await next_count(ws) == 0
                watching.append(ws)
            sender = GraphQLClient(http, server.token(bob))
            for n, user in enumerate(users, start=1):
                for k in range(n):
                    await sender.send(user, f"to {user} {k}")
            for n, ws in enumerate(watching, start=1):
                seen = [0]
                while seen[-1] != n:
                    seen.append(await next_count(ws))
                assert seen == sorted(seen)
        reader = GraphQLClient(http, server.token(users[2]))
        page = await reader.data("{ messages(first: 10) { edges { node { body } } } }")
        # Twice: once from the store, then from the cache, whose keys span the cluster.
        again = await reader.data("{ messages(first: 10) { edges { node { body } } } }")
        assert page == again
        assert len(page["messages"]["edges"]) == 3
        token = server.token(users[0])
        document = f"query ClusterProbe{uuid.uuid4().hex[:6]} {{ unreadCount }}"
        missed = await apq(http, token, document, with_query=False)
        assert missed["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        for with_query in (True, False):
            answer = await apq(http, token, document, with_query=with_query)
            assert answer == {"data": {"unreadCount": 1}}
