"""`inboxEvents` across processes: two API processes and a separate worker on their own table
and queues. A subscription held on A, resuming from a version, and one on B, from the current
version, both see every change made through either process exactly once, strictly +1, with the
counts the log holds."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from services.local.stack import StackEndpoints
from tests.conftest import new_user
from tests.e2e.fleet import (
    MARK_READ,
    Fleet,
    as_user,
    clients,
    counts_reach,
    running_fleet,
    send,
    subscribed,
)

CHANGES = (
    "query($since: Int!) { changes(since: $since) "
    "{ version hasMore events { version unreadCount } } }"
)
VERSION = "{ versionedUnreadCount { count version } }"


def events(since: int | None) -> str:
    argument = "" if since is None else f"(sinceVersion: {since})"
    return f"subscription {{ inboxEvents{argument} {{ __typename version unreadCount }} }}"


@pytest.fixture(scope="module")
def fleet(stack: StackEndpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    roles = {"A": True, "B": True, "worker": False}
    with running_fleet(
        stack, tmp_path_factory.mktemp("sync-multi-process"), "sync", roles
    ) as fleet:
        yield fleet


def versions(seen: list[Any]) -> list[int]:
    return [int(data["inboxEvents"]["version"]) for data in seen]


async def test_inbox_events_on_two_processes_are_strictly_plus_one(fleet: Fleet) -> None:
    alice = new_user("alice")
    senders = [new_user(f"sender{n}") for n in range(4)]
    token = fleet.token(alice)
    async with clients(fleet) as http:
        via = {role: [as_user(fleet, http[role], s) for s in senders] for role in ("A", "B")}
        alice_on = {role: as_user(fleet, http[role], alice) for role in ("A", "B")}
        first = await asyncio.gather(*(send(via["B"][n % 4], alice, f"B {n}") for n in range(10)))
        await counts_reach(10, alice_on["A"], alice_on["B"])
        async with (
            subscribed(fleet.nodes["A"], token) as on_a,
            subscribed(fleet.nodes["B"], token) as on_b,
        ):
            await on_a.subscribe("resumed", events(4))
            await on_b.subscribe("live", events(None))
            await on_a.until(lambda: versions(on_a.received["resumed"])[-1:] == [10], "replay")

            # Sends through both processes, stored by the worker, and reads through B, at once.
            later = asyncio.gather(
                *(send(via["AB"[n % 2]][n % 4], alice, f"later {n}") for n in range(30))
            )
            await alice_on["B"].data(MARK_READ, {"ids": [m["id"] for m in first[:5]]})
            await later
            await counts_reach(35, alice_on["A"], alice_on["B"])
            await alice_on["A"].data(MARK_READ, {"ids": [m["id"] for m in first[5:]]})
            final = (await alice_on["A"].data(VERSION))["versionedUnreadCount"]
            assert final["count"] == 30
            last = final["version"]
            await on_a.until(lambda: versions(on_a.received["resumed"])[-1] == last, "A's end")
            await on_b.until(
                lambda: bool(on_b.received["live"]) and versions(on_b.received["live"])[-1] == last,
                "B's end",
            )

    resumed, live = on_a.received["resumed"], on_b.received["live"]
    assert versions(resumed) == list(range(5, last + 1))
    # B started at whatever version was current when it subscribed: from there on, everything.
    assert versions(live) == list(range(versions(live)[0], last + 1))
    assert versions(live)[0] <= 11  # it subscribed before the second batch of sends
    async with clients(fleet) as http:
        log: list[dict[str, Any]] = []
        since = 4
        while True:
            page = (await as_user(fleet, http["B"], alice).data(CHANGES, {"since": since}))[
                "changes"
            ]
            log += page["events"]
            since = page["version"]
            if not page["hasMore"]:
                break
    counts = {event["version"]: event["unreadCount"] for event in log}
    assert [data["inboxEvents"]["unreadCount"] for data in resumed] == [
        counts[v] for v in versions(resumed)
    ]
    assert [data["inboxEvents"]["unreadCount"] for data in live] == [
        counts[v] for v in versions(live)
    ]
    kinds = [data["inboxEvents"]["__typename"] for data in resumed]
    assert kinds.count("MessagesReadEvent") >= 2
    assert all(a + 1 == b for a, b in itertools.pairwise(versions(resumed)))
