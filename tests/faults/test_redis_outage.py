"""Redis stopped in the middle of a run, then started again on the same port.

Redis is a cache and a live feed, never the truth: while it is down, sends and the delivery
worker carry on, queries read the store, persisted queries answer with GraphQL errors, and live
subscriptions come back by themselves with the true count once Redis is back.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection

from services.bootstrap import bootstrap
from services.domain import Message, UnreadCountChanged, UserId, new_message_id
from services.errors import DependencyUnavailable
from services.inbox import announce
from services.local.processes import free_ports
from services.local.stack import StackEndpoints
from services.ports import EventStreamItem
from services.redis.event_hub import RedisEventHub, channel_for
from services.redis.message_cache import RedisMessageCache
from services.settings import Settings
from tests.conftest import new_user, stack_endpoints, stack_settings
from tests.e2e.conftest import GraphQLClient, Server
from tests.faults.checker import History, check
from tests.faults.inbox_readers import read_inbox_graphql
from tests.integration.test_redis_servers import (
    RedisServer,
    apq,
    inboxql_server,
    next_count,
    subscribe_count,
)
from tests.polling import eventually

STEP_TIMEOUT = 30.0
DEADLINE_SECONDS = 60.0
# A query or send while Redis is down may wait for a failed Redis call, never longer than the
# socket timeouts (connect 2 s + read 5 s) plus one short retry; well under this.
DOWN_CALL_BUDGET_SECONDS = 10.0
PROTOCOL = "graphql-transport-ws"
APQ_DOCUMENT = "query OutageProbe { unreadCount }"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(free_ports(1)[0], tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def outage_settings(stack: StackEndpoints, tag: str, redis: RedisServer) -> Settings:
    unique = uuid.uuid4().hex[:10]
    return stack_settings(
        stack,
        tag,
        queue_name=f"redis-outage-{unique}",
        dead_letter_queue_name=f"redis-outage-dlq-{unique}",
        redis_url=redis.url,
    )


@pytest.fixture
async def server_on_own_redis(
    stack: StackEndpoints, session_tag: str, redis_server: RedisServer, tmp_path: Path
) -> AsyncIterator[Server]:
    """A real server process (API and delivery workers) whose Redis is `redis_server`."""
    settings = outage_settings(stack, session_tag, redis_server)
    # This run sends more than a user's default budget; the limiter is not what it tests.
    async with inboxql_server(
        stack,
        settings,
        tmp_path / "server.log",
        INBOXQL_SEND_RATE_LIMIT="0",
        INBOXQL_READ_RATE_LIMIT="0",
    ) as server:
        yield server


async def counts_until(ws: ClientConnection, expected: int, seen: list[int]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not seen or seen[-1] != expected:
        left = deadline - time.monotonic()
        assert left > 0, f"the subscription never showed {expected}: {seen}"
        seen.append(await next_count(ws, left))


async def wait_subscribed(redis: Redis, user: str) -> None:
    """Until the server's pub/sub connection is subscribed to `user`'s channel again."""

    async def subscribed() -> bool:
        with_counts = await redis.pubsub_numsub(channel_for(UserId(user)))
        return bool(with_counts and with_counts[0][1] >= 1)

    await eventually(
        subscribed,
        "the server to resubscribe after the restart",
        timeout=DEADLINE_SECONDS,
        interval=0.1,
    )


async def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = await call
    return result, time.monotonic() - started


@dataclass
class OutageRun:
    """One run's clients, what it was promised, and how long calls took."""

    server: Server
    http: httpx.AsyncClient
    history: History = field(default_factory=lambda: History("redis_outage"))
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"send": [], "query": []})

    def client(self, user: str) -> GraphQLClient:
        return GraphQLClient(self.http, self.server.token(user))

    async def send(self, sender: str, recipient: str, body: str) -> str:
        message, seconds = await timed(self.client(sender).send(recipient, body))
        self.latencies["send"].append(seconds)
        self.history.accepted(recipient, body, message["id"])
        return str(message["id"])

    async def query(self, user: str, document: str, variables: dict[str, Any] | None = None) -> Any:
        data, seconds = await timed(self.client(user).data(document, variables))
        self.latencies["query"].append(seconds)
        return data

    async def wait_for_count(self, user: str, expected: int) -> None:
        count: int | None = None

        async def reached() -> bool:
            nonlocal count
            count = (await self.query(user, "{ unreadCount }"))["unreadCount"]
            return count == expected

        await eventually(
            reached,
            lambda: f"unreadCount {expected}, stuck at {count}",
            timeout=DEADLINE_SECONDS,
            interval=0.1,
        )

    def slowest(self, kind: str) -> float:
        return round(max(self.latencies[kind]), 3)


async def while_redis_is_down(run: OutageRun, alice: str, bob: str, carol: str) -> None:
    """15 sends to alice, all then read, and 1 to bob, on top of alice's 3 earlier ones.
    Unread goes 3 -> 18 -> 3: a value the way up never takes, so a subscriber that shows 3
    afterwards shows the end state, not a step on the way."""
    down = [await run.send(bob, alice, f"down bob {n}") for n in range(10)]
    down += [await run.send(carol, alice, f"down carol {n}") for n in range(5)]
    await run.send(alice, bob, "down to bob")
    # The workers deliver without Redis: the count reaches 18, read from the store.
    await run.wait_for_count(alice, 18)
    # Bodies come from the store when the cache is out of reach.
    page = await run.query(alice, "{ messages(first: 50) { edges { node { id body } } } }")
    assert len(page["messages"]["edges"]) == 18
    one = await run.query(
        alice, "query($id: ID!) { message(id: $id) { id body } }", {"id": down[0]}
    )
    assert one["message"] == {"id": down[0], "body": "down bob 0"}
    mark = "mutation($ids: [ID!]!) { markRead(ids: $ids) { unreadCount } }"
    assert (await run.query(alice, mark, {"ids": down}))["markRead"]["unreadCount"] == 3
    # Persisted queries: a hash alone is a GraphQL "not found" (their store is out of reach),
    # and the hash with its document still runs.
    token = run.server.token(alice)
    missed = await apq(run.http, token, APQ_DOCUMENT, with_query=False)
    assert missed["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert await apq(run.http, token, APQ_DOCUMENT, with_query=True) == {"data": {"unreadCount": 3}}
    assert max(run.latencies["send"] + run.latencies["query"]) < DOWN_CALL_BUDGET_SECONDS
    # Still ready for the load balancer: Redis is reported, not required.
    ready = await run.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "degraded",
        "checks": {"dynamodb": True, "sqs": True, "redis": False},
    }


async def test_redis_stopped_and_restarted_loses_nothing(
    server_on_own_redis: Server, redis_server: RedisServer
) -> None:
    server = server_on_own_redis
    alice, bob, carol = new_user("alice"), new_user("bob"), new_user("carol")
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=60) as http,
        websockets.connect(server.ws_url, subprotocols=[PROTOCOL]) as ws,  # type: ignore[list-item]
    ):
        run = OutageRun(server, http)
        await subscribe_count(ws, server.token(alice))
        seen = [await next_count(ws)]
        assert seen == [0]
        for n in range(3):
            await run.send(bob, alice, f"before {n}")
        await counts_until(ws, 3, seen)

        await asyncio.to_thread(redis_server.stop)
        run.history.fault("redis_stopped")
        await while_redis_is_down(run, alice, bob, carol)

        await asyncio.to_thread(redis_server.start)
        async with Redis.from_url(redis_server.url) as observer:
            await wait_subscribed(observer, alice)
        # The subscription shows the true count, without anything new happening...
        later: list[int] = []
        await counts_until(ws, 3, later)
        # Steps on the way up (4..18) may show, from re-reads during the outage; 3 ends it.
        assert all(4 <= count <= 18 for count in later[:-1]), later
        seen += later
        # ...and it is live again: the next changes are pushed, nothing stale before them.
        await run.send(bob, alice, "after")
        assert await next_count(ws) == 4
        await run.query(alice, "mutation { markAllRead { unreadCount } }")
        assert await next_count(ws) == 0
        # Persisted queries are registered and found again.
        token = server.token(alice)
        for with_query in (True, False):
            answer = await apq(http, token, APQ_DOCUMENT, with_query=with_query)
            assert answer == {"data": {"unreadCount": 0}}

        inboxes = [await read_inbox_graphql(http, u, server.token(u)) for u in (alice, bob)]
    verdict = check(
        run.history,
        inboxes,
        counts_pushed=seen,
        slowest_send_seconds=run.slowest("send"),
        slowest_query_seconds=run.slowest("query"),
    )
    verdict.write()
    verdict.assert_ok()
    assert verdict.sent == 20
    assert (inboxes[0].unread_count, len(inboxes[0].entries)) == (0, 19)
    assert (inboxes[1].unread_count, len(inboxes[1].entries)) == (1, 1)


async def next_item(stream: AsyncIterator[EventStreamItem]) -> EventStreamItem:
    return await asyncio.wait_for(anext(stream), STEP_TIMEOUT)


async def test_hub_tells_subscribers_of_the_gap_and_resumes(
    stack: StackEndpoints, session_tag: str, redis_server: RedisServer
) -> None:
    """The hub itself across a real stop and start: publishing fails as DependencyUnavailable
    while Redis is down, each subscriber gets a gap marker, then events flow again."""
    settings = outage_settings(stack, session_tag, redis_server)
    alice = UserId(new_user("alice"))
    async with (
        bootstrap(settings, stack_endpoints(stack), workers=0, provision=True) as app,
        app.hub.subscribe(alice) as stream,
    ):
        hub = app.hub
        assert isinstance(hub, RedisEventHub)
        await hub.publish(alice, UnreadCountChanged(alice, 1, 1))
        assert await next_item(stream) == UnreadCountChanged(alice, 1, 1)
        await asyncio.to_thread(redis_server.stop)
        assert await next_item(stream) is None
        with pytest.raises(DependencyUnavailable):
            await hub.publish(alice, UnreadCountChanged(alice, 9, 9))
        await asyncio.to_thread(redis_server.start)
        async with Redis.from_url(redis_server.url) as observer:
            await wait_subscribed(observer, alice)
        # Gap markers may still be queued from the outage; the event comes after them.
        await hub.publish(alice, UnreadCountChanged(alice, 2, 2))
        item = await next_item(stream)
        while item is None:
            item = await next_item(stream)
        assert item == UnreadCountChanged(alice, 2, 2)


async def test_a_frozen_redis_costs_each_call_one_read_timeout(
    stack: StackEndpoints, session_tag: str, redis_server: RedisServer
) -> None:
    """Redis that accepts connections but never answers (SIGSTOP): the cache and publishing
    give up after one read timeout each, with no retry doubling it, and reads fall back to the
    store. Once Redis runs again, the cache works again."""
    read_timeout = 2.0
    settings = outage_settings(stack, session_tag, redis_server).with_overrides(
        read_timeout_seconds=read_timeout
    )
    alice = UserId(new_user("alice"))
    now = datetime.now(UTC).replace(microsecond=0)  # stored to the millisecond
    message = Message(new_message_id(now), UserId("bob"), alice, "frozen", now)
    async with bootstrap(settings, stack_endpoints(stack), workers=0, provision=True) as app:
        await app.store.deliver(message)
        cache = RedisMessageCache(app.clients.redis, ttl_seconds=60)
        assert await cache.get_many([message.id]) == {}  # connected, and a miss
        assert redis_server.process is not None
        redis_server.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(DependencyUnavailable):
                await cache.get_many([message.id])
            cache_seconds = time.monotonic() - started
            started = time.monotonic()
            assert not await announce(app.hub, UnreadCountChanged(alice, 1, 1))
            publish_seconds = time.monotonic() - started
            loaded = await app.inbox.load_messages([message.id])
        finally:
            redis_server.process.send_signal(signal.SIGCONT)
        # One read timeout each; a retried timeout would be two.
        assert read_timeout <= cache_seconds < 1.75 * read_timeout
        assert read_timeout <= publish_seconds < 1.75 * read_timeout
        assert loaded == {message.id: message}
        await app.inbox.load_messages([message.id])
        assert await cache.get_many([message.id]) == {message.id: message}
