"""Every unread count carries a version that orders it, across pushes and query results."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.conftest import new_user
from tests.e2e.conftest import GraphQLClient, Server
from tests.e2e.websocket_client import next_data, session, subscribe

Client = Callable[[str], GraphQLClient]
VERSIONED = "subscription { versionedUnreadCount { count version } }"
QUERY = "{ versionedUnreadCount { count version } }"


async def test_pushed_versions_increase_and_match_query_results(
    server: Server, as_user: Client
) -> None:
    alice, bob = new_user("alice"), new_user("bob")
    reader = as_user(alice)
    seen: dict[int, int] = {}  # version -> count, from pushes and queries alike
    async with session(server.ws_url, server.token(alice)) as ws:
        await subscribe(ws, "badge", VERSIONED)
        first = (await next_data(ws, "badge"))["versionedUnreadCount"]
        assert first == (await reader.data(QUERY))["versionedUnreadCount"]
        assert first["count"] == 0
        pushes = [first]

        async def send_and_query() -> None:
            for n in range(12):
                await as_user(bob).send(alice, f"n{n}")
                queried = (await reader.data(QUERY))["versionedUnreadCount"]
                assert seen.setdefault(queried["version"], queried["count"]) == queried["count"]

        sending = asyncio.ensure_future(send_and_query())
        while pushes[-1]["count"] != 12:
            pushes.append((await next_data(ws, "badge"))["versionedUnreadCount"])
        await sending
        versions = [push["version"] for push in pushes]
        assert versions == sorted(set(versions)), f"a stale or repeated version: {pushes}"
        for push in pushes:
            # One version, one count: a query and a push with the same version agree.
            assert seen.setdefault(push["version"], push["count"]) == push["count"]

        marked = await reader.data(
            "mutation { markAllRead { unreadCount versionedUnreadCount { count version } } }"
        )
        after = (await next_data(ws, "badge"))["versionedUnreadCount"]
        assert after["count"] == 0 and after["version"] > pushes[-1]["version"]
        # The mutation's own result carries the same version as the push it caused.
        assert marked["markAllRead"]["versionedUnreadCount"] == after
        assert (await reader.data(QUERY))["versionedUnreadCount"] == after


async def test_the_highest_version_is_the_true_count(server: Server, as_user: Client) -> None:
    """A client applying the rule (keep the highest version, from either source) ends on the
    true count, whatever order queries and pushes arrive in."""
    alice, bob = new_user("alice"), new_user("bob")
    reader = as_user(alice)
    best = {"count": -1, "version": -1}

    def offer(value: dict[str, int]) -> None:
        if value["version"] > best["version"]:
            best.update(value)

    async with session(server.ws_url, server.token(alice)) as ws:
        await subscribe(ws, "badge", VERSIONED)
        offer((await next_data(ws, "badge"))["versionedUnreadCount"])
        sent = [await as_user(bob).send(alice, f"m{n}") for n in range(6)]
        await reader.wait_for_count(6)
        mark = "mutation($ids: [ID!]!) { markRead(ids: $ids) { unreadCount } }"
        await reader.data(mark, {"ids": [m["id"] for m in sent[:2]]})
        offer((await reader.data(QUERY))["versionedUnreadCount"])
        while best["count"] != 4:
            offer((await next_data(ws, "badge"))["versionedUnreadCount"])
        assert best == (await reader.data(QUERY))["versionedUnreadCount"]
        assert await reader.unread_count() == 4
