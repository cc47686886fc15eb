"""`UserTurns`: one change at a time per user within a process, and nothing kept for idle
users."""

from __future__ import annotations

import asyncio

from services.domain import UserId
from services.dynamodb.user_turns import UserTurns

ALICE, BOB = UserId("alice"), UserId("bob")


async def test_one_user_waits_for_its_turn_and_others_do_not() -> None:
    turns = UserTurns()
    inside: list[str] = []
    release, two_inside = asyncio.Event(), asyncio.Event()

    async def hold(user: UserId, name: str) -> None:
        async with turns.turn(user):
            inside.append(name)
            if len(inside) == 2:
                two_inside.set()
            await release.wait()
            inside.remove(name)

    first = asyncio.create_task(hold(ALICE, "alice 1"))
    second = asyncio.create_task(hold(ALICE, "alice 2"))
    other = asyncio.create_task(hold(BOB, "bob"))
    await asyncio.wait_for(two_inside.wait(), 5)
    # Every task has had its turn to run: one that could enter would be inside by now.
    for _ in range(10):
        await asyncio.sleep(0)
    assert sorted(inside) == ["alice 1", "bob"]  # alice's second change waits for the first
    release.set()
    await asyncio.gather(first, second, other)
    assert inside == []
    assert len(turns) == 0


async def test_a_cancelled_waiter_leaves_nothing_behind() -> None:
    turns = UserTurns()
    async with turns.turn(ALICE):
        waiter = asyncio.create_task(turns.turn(ALICE).__aenter__())
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
    assert len(turns) == 0
