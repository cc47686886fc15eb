"""sendMessage is rate limited per user, through Redis, before anything is written."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from services.bootstrap import bootstrap
from services.disabled import NoSendLimit
from services.domain import UserId
from services.errors import RateLimited
from services.local.stack import StackEndpoints
from services.redis.clients import command_retry
from services.redis.rate_limit import RedisSendRateLimiter
from services.settings import Settings
from tests.conftest import new_user
from tests.e2e.conftest import Server, free_port
from tests.fakes import (
    FakeDeliveryQueue,
    FakeEventHub,
    FakeMessageCache,
    FakeMessageStore,
    FakePersistedQueryStore,
    FakeTokenVerifier,
)
from tests.polling import eventually
from tests.security.conftest import SEND_RATE_LIMIT, SEND_RATE_WINDOW_SECONDS

SEND = "mutation($input: SendMessageInput!) { sendMessage(input: $input) { id body } }"
INBOX = "{ unreadCount messages(first: 100) { edges { node { id body senderId } } } }"
DEADLINE_SECONDS = 30.0
REDIS_SOCKET_TIMEOUT = 1.0
FAIL_OPEN_MARGIN_SECONDS = 2.0  # the shared CPU's slack, on top of every socket timeout


async def post(
    http: httpx.AsyncClient,
    token: str,
    query: str,
    variables: dict[str, Any] | None = None,
    accept: str = "application/json",
) -> httpx.Response:
    return await http.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {token}", "Accept": accept},
    )


async def send(
    http: httpx.AsyncClient, token: str, to: str, body: str, accept: str = "application/json"
) -> httpx.Response:
    return await post(http, token, SEND, {"input": {"recipientId": to, "body": body}}, accept)


async def inbox_when(http: httpx.AsyncClient, token: str, settled: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}

    async def is_settled() -> bool:
        nonlocal data
        data = (await post(http, token, INBOX)).json()["data"]
        return bool(settled(data))

    await eventually(
        is_settled, lambda: f"the inbox to settle, at {data}", timeout=DEADLINE_SECONDS
    )
    return data


async def test_over_the_limit_is_rate_limited_with_a_retry_hint_and_writes_nothing(
    secure_server: Server, http: httpx.AsyncClient
) -> None:
    alice, bob, carol = new_user("alice"), new_user("bob"), new_user("carol")
    as_bob = secure_server.token(bob)
    for n in range(SEND_RATE_LIMIT):
        response = await send(http, as_bob, alice, f"allowed {n}")
        assert "errors" not in response.json(), response.json()

    for accept in ("application/json", "application/graphql-response+json"):
        refused = await send(http, as_bob, alice, "one too many", accept)
        # An executed mutation whose field failed: 200 with `data: null` in both media types,
        # as the GraphQL-over-HTTP spec has it; Retry-After tells HTTP clients when to retry.
        assert refused.status_code == 200
        body = refused.json()
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"]["code"] == "RATE_LIMITED"
        wait = error["extensions"]["retryAfterSeconds"]
        assert isinstance(wait, int) and 1 <= wait <= SEND_RATE_WINDOW_SECONDS
        assert refused.headers["Retry-After"] == str(wait)

    # Another sender is not limited by bob's count; their message is a marker: once it is
    # delivered, anything bob's refused sends had queued would have had its chance too.
    marker = await send(http, secure_server.token(carol), alice, "marker")
    assert "errors" not in marker.json()
    as_alice = secure_server.token(alice)
    data = await inbox_when(http, as_alice, lambda d: d["unreadCount"] >= SEND_RATE_LIMIT + 1)
    bodies = sorted(edge["node"]["body"] for edge in data["messages"]["edges"])
    assert bodies == sorted([f"allowed {n}" for n in range(SEND_RATE_LIMIT)] + ["marker"])
    assert data["unreadCount"] == SEND_RATE_LIMIT + 1


async def test_reads_and_marks_are_not_limited(
    secure_server: Server, http: httpx.AsyncClient
) -> None:
    alice = new_user("alice")
    token = secure_server.token(alice)
    for _ in range(SEND_RATE_LIMIT * 3):
        response = await post(http, token, "mutation { markAllRead { unreadCount } }")
        assert response.json()["data"]["markAllRead"]["unreadCount"] == 0


async def test_the_count_is_shared_across_processes_and_atomic(stack: StackEndpoints) -> None:
    """Two limiters with their own Redis connections (two API processes) racing: exactly
    `limit` sends get through."""
    limit, sender = 7, UserId(new_user("sender"))
    clients = [Redis.from_url(stack.redis_url) for _ in range(2)]
    try:
        limiters = [RedisSendRateLimiter(c, limit=limit, window_seconds=60) for c in clients]

        async def attempt(n: int) -> bool:
            try:
                await limiters[n % 2].admit(sender)
            except RateLimited:
                return False
            return True

        admitted = await asyncio.gather(*(attempt(n) for n in range(30)))
        assert sum(admitted) == limit
        ttl = await clients[0].pttl(f"inboxql:rate:send:{sender}")
        assert 0 < ttl <= 60_000, "the window's counter must expire"
    finally:
        for client in clients:
            await client.aclose()


async def test_a_new_window_admits_again(stack: StackEndpoints) -> None:
    client = Redis.from_url(stack.redis_url)
    sender = UserId(new_user("sender"))
    try:
        limiter = RedisSendRateLimiter(client, limit=1, window_seconds=1)
        await limiter.admit(sender)
        try:
            await limiter.admit(sender)
        except RateLimited as error:
            assert error.retry_after_seconds == 1
        else:
            raise AssertionError("the second send in the window was admitted")

        async def admitted() -> bool:
            try:
                await limiter.admit(sender)
            except RateLimited:
                return False
            return True

        await eventually(admitted, "the window to end", timeout=10, interval=0.1)
    finally:
        await client.aclose()


async def test_redis_unavailable_lets_sends_through(caplog: pytest.LogCaptureFixture) -> None:
    """Fail open: a cache outage must not stop messages (they go through SQS and DynamoDB)."""
    # Retrying as the server's clients do: redis-py's own default (ten retries) would make the
    # bound below a measure of redis-py, not of the limiter as deployed.
    nobody = Redis(
        host="127.0.0.1",
        port=free_port(),
        socket_connect_timeout=REDIS_SOCKET_TIMEOUT,
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        retry=command_retry(),
    )
    admits = 3
    try:
        limiter = RedisSendRateLimiter(nobody, limit=1, window_seconds=60)
        sender = UserId(f"sender-{uuid.uuid4().hex[:8]}")
        with caplog.at_level(logging.WARNING, logger="inboxql.rate_limit"):
            started = time.monotonic()
            for _ in range(admits):
                await limiter.admit(sender)  # no RateLimited, no connection error
            took = time.monotonic() - started
    finally:
        await nobody.aclose()
    unchecked = [
        record
        for record in caplog.records
        if record.name == "inboxql.rate_limit"
        and record.levelno == logging.WARNING
        and "send rate limit not checked" in record.getMessage()
    ]
    assert len(unchecked) == admits, caplog.text
    # Failing open must be quick too: a send waits for the limiter, so an outage may cost it at
    # most the socket timeout, never a hang.
    bound = admits * REDIS_SOCKET_TIMEOUT + FAIL_OPEN_MARGIN_SECONDS
    assert took < bound, f"{admits} admits took {took:.2f} s with Redis away, over {bound} s"


async def test_a_zero_limit_is_no_limit() -> None:
    # Every other part given, so the composition root builds only the limiter, and nothing
    # connects at construction.
    queue = FakeDeliveryQueue()
    limiters = []
    for limit in (0, 1):
        async with bootstrap(
            Settings(stack="external", send_rate_limit=limit),
            store=FakeMessageStore(),
            producer=queue,
            consumer=queue,
            cache=FakeMessageCache(),
            hub=FakeEventHub(),
            tokens=FakeTokenVerifier(),
            persisted_queries=FakePersistedQueryStore(),
        ) as app:
            limiters.append(app.sending.limiter)
    assert isinstance(limiters[0], NoSendLimit)
    assert isinstance(limiters[1], RedisSendRateLimiter)
