"""What a subscriber is sent when it reads slowly, and after it reconnects."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import new_user
from tests.e2e.conftest import GraphQLClient, Server
from tests.e2e.websocket_client import next_data, receive, session, subscribe

Client = Callable[[str], GraphQLClient]
VERSIONED = "subscription { versionedUnreadCount { count version } }"
QUERY = "{ versionedUnreadCount { count version } }"
BODY = "x" * 5000  # the longest body: the message feeds fill the socket's buffers quickly
# 100 changes x 16 feeds x 5 KB = 8 MB of pushes to a client that reads none of them.
MESSAGE_FEEDS = 16
CHANGES = 100
SENDERS = 5
# What the server process may grow by while one client reads nothing (measured: see report).
RSS_GROWTH_BOUND_BYTES = 64 * 1024 * 1024


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def small_window_socket(url: str) -> socket.socket:
    """A connected socket whose receive buffer is tiny, so that a client that stops reading
    pushes back on the server after a few kilobytes."""
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
    return sock


async def test_a_client_that_stops_reading_gets_the_latest_count_and_memory_stays_bounded(
    server: Server, as_user: Client
) -> None:
    alice = new_user("alice")
    # Several senders: each stays within the per-sender sendMessage rate limit.
    senders = [as_user(new_user("bob")) for _ in range(SENDERS)]
    reader = as_user(alice)
    sock = await small_window_socket(server.ws_url)
    # max_queue=1: the client library stops reading the socket as soon as one frame waits.
    async with session(server.ws_url, server.token(alice), sock=sock, max_queue=1) as ws:
        for n in range(MESSAGE_FEEDS):
            await subscribe(ws, f"feed{n}", "subscription { messageReceived { id body } }")
        await subscribe(ws, "badge", VERSIONED)
        first = (await next_data(ws, "badge"))["versionedUnreadCount"]
        assert first["count"] == 0

        # From here the client reads nothing while every change happens.
        before = rss_bytes(server.process.pid)
        peak = before
        for n in range(CHANGES):
            await senders[n % SENDERS].send(alice, BODY)
            if n % 10 == 0:
                peak = max(peak, rss_bytes(server.process.pid))
        await reader.wait_for_count(CHANGES)
        peak = max(peak, rss_bytes(server.process.pid))
        truth = (await reader.data(QUERY))["versionedUnreadCount"]
        assert truth["count"] == CHANGES

        counts: list[dict[str, Any]] = [first]
        feed_messages = 0
        async with asyncio.timeout(60):
            while counts[-1]["version"] < truth["version"]:
                message = await receive(ws)
                assert message["type"] == "next", message
                if message["id"] == "badge":
                    counts.append(message["payload"]["data"]["versionedUnreadCount"])
                else:
                    feed_messages += 1
    assert counts[-1] == truth
    versions = [value["version"] for value in counts]
    assert versions == sorted(set(versions)), f"stale or repeated: {counts}"
    # Whether the kernel's buffers push back before the changes end (so that counts coalesce
    # on the server) is the kernel's call: coalescing itself is asserted deterministically by
    # tests/integration/test_redis_adapters.py::test_slow_subscriber_holds_only_the_newest_count
    # and the hub's unit tests. Here: the newest value arrives, in order, in bounded memory.
    growth = peak - before
    print(
        f"\nslow client: {len(counts) - 1} count pushes for {CHANGES} changes; "
        f"{feed_messages} messageReceived read; server RSS {before / 2**20:.1f} MiB, "
        f"peak +{growth / 2**20:.1f} MiB"
    )
    assert growth < RSS_GROWTH_BOUND_BYTES


async def test_after_a_reconnect_the_first_value_is_the_true_count(
    server: Server, as_user: Client
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    reader = as_user(alice)
    async with session(server.ws_url, server.token(alice)) as ws:
        await subscribe(ws, "badge", VERSIONED)
        seen = (await next_data(ws, "badge"))["versionedUnreadCount"]
        assert seen["count"] == 0

    # Changes while disconnected: sends, then a read.
    sent = [await as_user(bob).send(alice, f"while away {n}") for n in range(5)]
    await reader.wait_for_count(5)
    mark = "mutation($ids: [ID!]!) { markRead(ids: $ids) { unreadCount } }"
    assert (await reader.data(mark, {"ids": [sent[0]["id"], sent[1]["id"]]}))["markRead"][
        "unreadCount"
    ] == 3
    truth = (await reader.data(QUERY))["versionedUnreadCount"]

    async with session(server.ws_url, server.token(alice)) as ws:
        await subscribe(ws, "badge", VERSIONED)
        resumed = (await next_data(ws, "badge"))["versionedUnreadCount"]
        await subscribe(ws, "plain", "subscription { unreadCount }")
        plain = (await next_data(ws, "plain"))["unreadCount"]
    assert resumed == truth and resumed["count"] == 3
    assert resumed["version"] > seen["version"]
    assert plain == 3
