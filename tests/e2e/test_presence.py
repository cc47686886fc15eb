"""Typing and read receipts between users on the local stack, seen through npm's `graphql-ws`
client: the pushes arrive, only to whom they concern, throttled and rate limited."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import new_user
from tests.e2e.conftest import GraphQLClient, NodeSubscription

Client = Callable[[str], GraphQLClient]
SET_TYPING = "mutation($to: ID!) { setTyping(withUserId: $to) }"
TYPING = "subscription { typing { fromUserId conversationId } }"
RECEIPTS = "subscription { readReceipts { readerId conversationId messageIds upTo readAt } }"
# What "live" means for typing (the issue: within a second).
PUSH_DEADLINE_SECONDS = 1.0
WARM_UP_DEADLINE_SECONDS = 20.0


async def set_typing(client: GraphQLClient, to: str) -> bool:
    pushed: bool = (await client.data(SET_TYPING, {"to": to}))["setTyping"]
    return pushed


async def typing_is_live(watcher: NodeSubscription, as_user: Client, reader: str) -> None:
    """The subscription gives no sign of being live: a third user types until it is seen (each
    call after the first within 3 s is throttled, so this waits out the gate between tries)."""
    warmer = new_user("warmer")
    deadline = time.monotonic() + WARM_UP_DEADLINE_SECONDS
    while True:
        if await set_typing(as_user(warmer), reader):
            with contextlib.suppress(TimeoutError):
                seen = await watcher.next(PUSH_DEADLINE_SECONDS)
                assert seen["typing"]["fromUserId"] == warmer
                return
        assert time.monotonic() < deadline, "the typing subscription never saw a push"
        await asyncio.sleep(0.2)  # pacing the tries: the gate holds 3 s


async def test_typing_reaches_the_other_user_within_a_second_once_per_hold(
    as_user: Client, subscribe: Any
) -> None:
    alice, bob, dave = new_user("alice"), new_user("bob"), new_user("dave")
    async with subscribe(bob, TYPING) as bobs:
        await typing_is_live(bobs, as_user, bob)
        began = time.monotonic()
        assert await set_typing(as_user(alice), bob) is True
        seen = (await bobs.next(PUSH_DEADLINE_SECONDS))["typing"]
        assert time.monotonic() - began < PUSH_DEADLINE_SECONDS
        assert seen["fromUserId"] == alice and len(seen["conversationId"]) == 24
        # Within the hold: answered false, and nothing is pushed. Dave's push, published after
        # it, is the next bob sees: a push of alice's would have come first.
        assert await set_typing(as_user(alice), bob) is False
        assert await set_typing(as_user(dave), bob) is True
        assert (await bobs.next(PUSH_DEADLINE_SECONDS))["typing"]["fromUserId"] == dave


async def test_typing_over_the_limit_is_rate_limited(as_user: Client) -> None:
    typist, reader = as_user(new_user("typist")), new_user("reader")
    for _ in range(60):  # INBOXQL_TYPING_RATE_LIMIT's default, per minute
        await set_typing(typist, reader)
    body = await typist.raw(SET_TYPING, {"to": reader})
    assert body["errors"][0]["extensions"]["code"] == "RATE_LIMITED", body
    assert body["errors"][0]["extensions"]["retryAfterSeconds"] >= 1


@pytest.mark.parametrize("bad", ["", "a#b", "x" * 200])
async def test_typing_to_a_bad_user_id_is_bad_user_input(as_user: Client, bad: str) -> None:
    code = await as_user(new_user("typist")).error_code(SET_TYPING, {"to": bad})
    assert code == "BAD_USER_INPUT"


async def receipts_are_live(watcher: NodeSubscription, as_user: Client, sender: str) -> None:
    """A warm-up reader reads the sender's messages until the sender's subscription sees it."""
    warm = new_user("warm")
    deadline = time.monotonic() + WARM_UP_DEADLINE_SECONDS
    while True:
        await as_user(sender).send(warm, "warm-up")
        await as_user(warm).wait_for_count(1)
        await as_user(warm).data("mutation { markAllRead { unreadCount } }")
        with contextlib.suppress(TimeoutError):
            seen = await watcher.next(PUSH_DEADLINE_SECONDS)
            assert seen["readReceipts"]["readerId"] == warm
            return
        assert time.monotonic() < deadline, "the receipts subscription never saw a push"


async def test_each_sender_gets_a_receipt_of_its_own_messages_only(
    as_user: Client, subscribe: Any
) -> None:
    alice, carol, bob = new_user("alice"), new_user("carol"), new_user("bob")
    async with subscribe(alice, RECEIPTS) as alices, subscribe(carol, RECEIPTS) as carols:
        await receipts_are_live(alices, as_user, alice)
        await receipts_are_live(carols, as_user, carol)
        from_alice = [(await as_user(alice).send(bob, f"a{n}"))["id"] for n in range(2)]
        from_carol = (await as_user(carol).send(bob, "c"))["id"]
        await as_user(bob).wait_for_count(3)
        read = await as_user(bob).data(
            "mutation($ids: [ID!]!) { markRead(ids: $ids) { unreadCount } }",
            {"ids": [*from_alice, from_carol]},
        )
        assert read["markRead"]["unreadCount"] == 0
        to_alice = (await alices.next(PUSH_DEADLINE_SECONDS * 5))["readReceipts"]
        to_carol = (await carols.next(PUSH_DEADLINE_SECONDS * 5))["readReceipts"]
    assert to_alice["readerId"] == bob and to_carol["readerId"] == bob
    assert to_alice["messageIds"] == sorted(from_alice, reverse=True)
    assert to_alice["upTo"] == max(from_alice)
    assert to_carol["messageIds"] == [from_carol]
    assert to_alice["conversationId"] != to_carol["conversationId"]
