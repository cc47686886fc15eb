"""Pushes lost between the worker and Redis, while the subscriber's own connection stays up.

The worker runs as a process of its own whose Redis is reached through a proxy; the API
process (and the subscriber on it) reaches Redis directly. Cutting the proxy makes every
publish of the worker fail: the messages are stored, their pushes are gone, and the subscriber
is not told anything was missed. The next change it does hear of jumps versions, and the
stream must fill the gap from the log: `inboxEvents` shows every version exactly once, +1 at a
time, with the counts the log holds, and the checker finds the log and the inbox in
agreement."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from services.local.stack import StackEndpoints
from tests.conftest import new_user, stack_settings
from tests.e2e.conftest import provision
from tests.e2e.fleet import MARK_READ, Fleet, as_user, clients, counts_reach, send, subscribed
from tests.faults.checker import History, check
from tests.faults.inbox_readers import read_inbox_graphql
from tests.faults.tcp_proxy import StallingProxy

EVENTS = "subscription { inboxEvents(sinceVersion: 0) { __typename version unreadCount } }"
CHANGES = (
    "query($since: Int!) { changes(since: $since) "
    "{ version hasMore events { version unreadCount } } }"
)


@pytest.fixture
async def worker_behind_proxy(
    stack: StackEndpoints, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Fleet, StallingProxy]]:
    settings = stack_settings(stack, f"lost-{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(provision, stack, settings)
    redis = urlsplit(stack.redis_url)
    assert redis.hostname is not None and redis.port is not None
    async with StallingProxy(redis.hostname, redis.port) as proxy:
        fleet = Fleet(stack, settings, tmp_path_factory.mktemp("lost-pushes"))
        try:
            # Started off the event loop: the proxy serves on it while the processes start.
            await asyncio.to_thread(fleet.start, {"A": True})
            fleet.env_overrides["REDIS_URL"] = f"redis://127.0.0.1:{proxy.port}/0"
            await asyncio.to_thread(fleet.start, {"worker": False})
            yield fleet, proxy
        finally:
            await asyncio.to_thread(fleet.stop_all)


def versions(seen: list[Any]) -> list[int]:
    return [int(data["inboxEvents"]["version"]) for data in seen]


async def test_lost_pushes_are_filled_from_the_log(
    worker_behind_proxy: tuple[Fleet, StallingProxy],
) -> None:
    fleet, proxy = worker_behind_proxy
    history = History("lost_pushes")
    alice, bob = new_user("alice"), new_user("bob")
    async with clients(fleet) as http, subscribed(fleet.nodes["A"], fleet.token(alice)) as live:
        bobs, alices = as_user(fleet, http["A"], bob), as_user(fleet, http["A"], alice)

        async def sent(body: str) -> str:
            message = await send(bobs, alice, body)
            history.accepted(alice, body, message["id"])
            return str(message["id"])

        await live.subscribe("events", EVENTS)
        for n in range(3):
            await sent(f"before {n}")
        await live.until(lambda: versions(live.received["events"])[-1:] == [3], "v3 live")

        proxy.cut()
        history.fault("worker_publishes_cut")
        during = [await sent(f"during {n}") for n in range(4)]
        # Stored (the worker needs no Redis to deliver), and not pushed.
        await counts_reach(7, alices)
        # A change the API process publishes itself: the subscriber hears of version 8
        # without 4 to 7, and must read them from the log first.
        await alices.data(MARK_READ, {"ids": during[:2]})
        await live.until(lambda: versions(live.received["events"])[-1:] == [8], "v8")

        proxy.mend()
        for n in range(2):
            await sent(f"after {n}")
        await live.until(lambda: versions(live.received["events"])[-1:] == [10], "v10")

        log: list[dict[str, Any]] = (await alices.data(CHANGES, {"since": 0}))["changes"]["events"]
        inboxes = [await read_inbox_graphql(http["A"], alice, fleet.token(alice))]

    seen = live.received["events"]
    assert versions(seen) == list(range(1, 11)), versions(seen)
    assert [data["inboxEvents"]["unreadCount"] for data in seen] == [
        event["unreadCount"] for event in log
    ]
    assert [data["inboxEvents"]["__typename"] for data in seen].count("MessagesReadEvent") == 1
    assert "could not publish" in fleet.nodes["worker"].log_text(), "no push was lost"
    verdict = check(history, inboxes, pushed_versions=versions(seen))
    verdict.write()
    verdict.assert_ok()
