"""graphql-transport-ws rules over a real socket: connection_init first and once, tokens
checked at the start and timed out at their `exp`, origins, pings, and per-connection and
per-user limits. Most run against a server with tight settings (tests/e2e/websocket_server.py)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import websockets

from services.domain import UserId
from services.local.stack import StackEndpoints
from services.tokens.verifiers import HmacTokenVerifier
from tests.conftest import TEST_JWT_SECRET, new_user
from tests.e2e.conftest import Server
from tests.e2e.websocket_client import (
    bearer,
    closed_with,
    init,
    next_data,
    opened,
    receive,
    session,
    subscribe,
)
from tests.e2e.websocket_server import ALLOWED_ORIGIN, TIGHT, tight_server
from tests.polling import eventually

COUNT = "subscription { versionedUnreadCount { count version } }"
PING_INTERVAL = float(TIGHT["INBOXQL_WS_PING_INTERVAL"])
PONG_TIMEOUT = float(TIGHT["INBOXQL_WS_PONG_TIMEOUT"])
INIT_TIMEOUT = float(TIGHT["INBOXQL_WS_INIT_TIMEOUT"])
# Deadlines are generous: two cores are shared with the local stack and other tests.
SLACK = 10.0


@pytest.fixture(scope="module")
def tight(
    server: Server, stack: StackEndpoints, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    # Depends on `server`: its workers deliver, and it has provisioned the table and queues.
    log = tmp_path_factory.mktemp("tight-server") / "server.log"
    with tight_server(stack, server.settings, log) as started:
        yield started


def token(user: str, ttl_seconds: int | None = 3600) -> str:
    return HmacTokenVerifier(TEST_JWT_SECRET).issue(UserId(user), ttl_seconds=ttl_seconds)


# --- connection_init ---------------------------------------------------------------------


async def test_subscribe_before_connection_ack_closes_with_4401(tight: Server) -> None:
    async with opened(tight.ws_url) as ws:
        await subscribe(ws, "early", COUNT)
        assert await closed_with(ws) == 4401


async def test_no_connection_init_in_time_closes_with_4408(tight: Server) -> None:
    async with opened(tight.ws_url) as ws:
        started = time.monotonic()
        assert await closed_with(ws, INIT_TIMEOUT + SLACK) == 4408
        assert time.monotonic() - started >= INIT_TIMEOUT * 0.9


async def test_a_second_connection_init_closes_with_4429(tight: Server) -> None:
    async with opened(tight.ws_url) as ws:
        await init(ws, bearer(token(new_user("alice"))))
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert await closed_with(ws) == 4429


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"Authorization": "Bearer forged.token.value"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer " + token("alice", ttl_seconds=-60)},
        {"Authorization": "Bearer " + HmacTokenVerifier("another-secret-" * 4).issue(UserId("a"))},
    ],
    ids=["no-token", "forged", "wrong-scheme", "expired", "wrong-key"],
)
async def test_a_bad_token_is_refused_with_4403(tight: Server, payload: dict[str, str]) -> None:
    async with opened(tight.ws_url) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert await closed_with(ws) == 4403


async def test_a_token_that_expires_while_open_closes_the_socket_at_exp(tight: Server) -> None:
    alice = new_user("alice")
    short = token(alice, ttl_seconds=3)
    exp = jwt.decode(short, options={"verify_signature": False})["exp"]
    async with session(tight.ws_url, short) as ws:
        await subscribe(ws, "badge", COUNT)
        assert (await next_data(ws, "badge"))["versionedUnreadCount"]["count"] == 0
        code = await closed_with(ws, 3 + SLACK)
        closed_at = time.time()
    assert code == 4403
    # A timer at `exp` (leeway 0 on this server): not before, and not long after.
    assert exp - 0.05 <= closed_at <= exp + SLACK


# --- origins -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin", [None, "same", ALLOWED_ORIGIN], ids=["no-origin", "same-origin", "allowed"]
)
async def test_allowed_origins_connect(tight: Server, origin: str | None) -> None:
    if origin == "same":
        origin = tight.url  # the page GraphiQL and the demo are served from
    options: dict[str, Any] = {"origin": origin} if origin else {}
    async with session(tight.ws_url, token(new_user("alice")), **options) as ws:
        await subscribe(ws, "badge", COUNT)
        assert (await next_data(ws, "badge"))["versionedUnreadCount"]["count"] == 0


@pytest.mark.parametrize("origin", ["https://evil.example", "http://app.example.com", "null"])
async def test_other_origins_are_refused_at_the_handshake(tight: Server, origin: str) -> None:
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with opened(tight.ws_url, origin=origin):
            pass
    assert refused.value.response.status_code == 403


async def test_the_session_server_refuses_a_foreign_origin_too(server: Server) -> None:
    """The default (no INBOXQL_ALLOWED_ORIGINS): same-origin pages and non-browsers only."""
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with opened(server.ws_url, origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    async with session(server.ws_url, token(new_user("a")), origin=server.url) as ws:
        await subscribe(ws, "badge", COUNT)
        assert (await next_data(ws, "badge"))["versionedUnreadCount"]["count"] == 0


# --- keep-alive ----------------------------------------------------------------------------


async def test_a_client_answering_pings_stays_connected(tight: Server) -> None:
    async with session(tight.ws_url, token(new_user("alice"))) as ws:
        pings = 0
        started = time.monotonic()
        while pings < 4:  # longer than one pong timeout
            message = json.loads(await asyncio.wait_for(ws.recv(), PING_INTERVAL + SLACK))
            assert message == {"type": "ping"}
            pings += 1
            await ws.send(json.dumps({"type": "pong"}))
        assert time.monotonic() - started >= 3 * PING_INTERVAL * 0.9
        # Still usable.
        await subscribe(ws, "badge", COUNT)
        assert (await next_data(ws, "badge"))["versionedUnreadCount"]["count"] == 0


async def test_a_client_that_never_answers_pings_is_closed(tight: Server) -> None:
    async with session(tight.ws_url, token(new_user("alice"))) as ws:
        pings = 0
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(PING_INTERVAL + PONG_TIMEOUT + SLACK):
                while True:
                    assert json.loads(await ws.recv()) == {"type": "ping"}
                    pings += 1
    assert pings == 1
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011


# --- limits --------------------------------------------------------------------------------


async def test_operations_per_connection_are_limited(tight: Server) -> None:
    limit = int(TIGHT["INBOXQL_WS_MAX_SUBSCRIPTIONS"])
    async with session(tight.ws_url, token(new_user("alice"))) as ws:
        for n in range(limit):
            await subscribe(ws, f"s{n}", COUNT)
            await next_data(ws, f"s{n}")
        await subscribe(ws, "one-too-many", COUNT)
        refused = await receive(ws)
        assert refused["type"] == "error" and refused["id"] == "one-too-many", refused
        assert refused["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        # Completing one frees its place.
        await ws.send(json.dumps({"id": "s0", "type": "complete"}))
        await subscribe(ws, "again", COUNT)
        assert (await next_data(ws, "again"))["versionedUnreadCount"]["count"] == 0


async def test_connections_per_user_are_limited(tight: Server) -> None:
    limit = int(TIGHT["INBOXQL_WS_MAX_CONNECTIONS_PER_USER"])
    alice = new_user("alice")
    async with session(tight.ws_url, token(alice)) as first:
        async with session(tight.ws_url, token(alice)):
            assert limit == 2
            async with opened(tight.ws_url) as third:
                await third.send(
                    json.dumps({"type": "connection_init", "payload": bearer(token(alice))})
                )
                assert await closed_with(third) == 1013
            # Someone else is not affected.
            async with session(tight.ws_url, token(new_user("bob"))):
                pass
        # One closed: a new connection is accepted once the server has seen it go.

        async def accepted() -> bool:
            async with opened(tight.ws_url) as retry:
                await retry.send(
                    json.dumps({"type": "connection_init", "payload": bearer(token(alice))})
                )
                try:
                    answer = await receive(retry)
                except websockets.ConnectionClosed:
                    return False
                assert answer["type"] == "connection_ack"
                return True

        await eventually(accepted, "the closed connection's slot to be freed", timeout=SLACK)
        await subscribe(first, "badge", COUNT)
        await next_data(first, "badge")


async def test_a_message_over_the_size_limit_closes_with_1009(tight: Server) -> None:
    limit = int(TIGHT["INBOXQL_WS_MAX_MESSAGE_BYTES"])
    async with session(tight.ws_url, token(new_user("alice"))) as ws:
        padding = " " * limit
        await ws.send(
            json.dumps({"id": "big", "type": "subscribe", "payload": {"query": COUNT + padding}})
        )
        assert await closed_with(ws) == 1009
