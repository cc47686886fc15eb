"""ReadExpiry, the runner of the walk after a horizon (services/read_expiry.py): step by step,
one walk per user at a time, a conversation's walk bounded by what its horizon read, failures
logged, and a bounded close."""

from __future__ import annotations

import asyncio
import logging

import pytest

from services.domain import MessageId, UserId
from services.read_expiry import ReadExpiry
from services.retention import ExpiryStep
from tests.fakes import FakeMessageStore
from tests.unit.support import ALICE, BOB, CAROL


class SteppingStore(FakeMessageStore):
    """Walks in three steps, each held until the test lets it go; can be told to fail."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[tuple[UserId, MessageId | None]] = []
        self.scopes: list[UserId | None] = []
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()
        self.fail: Exception | None = None

    async def expire_read(
        self,
        user_id: UserId,
        *,
        before: MessageId | None,
        limit: int,
        with_user: UserId | None = None,
    ) -> ExpiryStep:
        self.entered.set()
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        self.steps.append((user_id, before))
        self.scopes.append(with_user)
        cursors = {None: MessageId("c1"), MessageId("c1"): MessageId("c2")}
        return ExpiryStep(limit, cursors.get(before))


async def test_a_walk_goes_step_by_step_and_a_horizon_during_it_walks_again() -> None:
    store = SteppingStore()
    expiry = ReadExpiry(store)
    expiry.after_horizon(ALICE)
    expiry.after_horizon(ALICE)  # before the walk began: that walk covers it
    await store.entered.wait()
    expiry.after_horizon(ALICE)  # while it runs: once more after it, never two at once
    expiry.after_horizon(BOB)
    store.gate.set()
    await expiry.idle()
    assert [before for who, before in store.steps if who == ALICE] == [None, "c1", "c2"] * 2
    assert [before for who, before in store.steps if who == BOB] == [None, "c1", "c2"]


async def test_after_a_conversation_horizon_the_walk_stops_once_as_many_expired() -> None:
    store = SteppingStore()
    store.gate.set()
    expiry = ReadExpiry(store)
    # 48 a step: 50 read are done after two steps, though the conversation goes on.
    expiry.after_horizon(ALICE, with_user=BOB, read=50)
    await expiry.idle()
    assert (store.steps, store.scopes) == ([(ALICE, None), (ALICE, "c1")], [BOB, BOB])


async def test_a_whole_walk_owed_takes_the_conversations_owed_with_it() -> None:
    store = SteppingStore()
    expiry = ReadExpiry(store)
    expiry.after_horizon(ALICE, with_user=BOB, read=1)
    await store.entered.wait()
    expiry.after_horizon(ALICE, with_user=CAROL, read=1)
    expiry.after_horizon(ALICE)
    store.gate.set()
    await expiry.idle()
    # Bob's walk, then one of the whole index (which holds Carol's conversation too).
    assert store.scopes == [BOB, None, None, None]


async def test_a_failed_walk_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    store = SteppingStore()
    store.fail = RuntimeError("throttled")
    store.gate.set()
    expiry = ReadExpiry(store)
    with caplog.at_level(logging.WARNING, logger="inboxql.retention"):
        expiry.after_horizon(ALICE)
        await expiry.idle()
    assert "throttled" in caplog.text
    # The next horizon walks again.
    store.fail = None
    expiry.after_horizon(ALICE)
    await expiry.idle()
    assert store.steps == [(ALICE, None), (ALICE, "c1"), (ALICE, "c2")]


async def test_closing_cancels_a_walk_that_outlasts_its_grace() -> None:
    store = SteppingStore()  # the gate stays shut: the walk never ends by itself
    expiry = ReadExpiry(store, close_seconds=0.01)
    expiry.after_horizon(ALICE)
    await expiry.aclose()
    assert store.steps == []
    await expiry.idle()  # nothing left running


async def test_past_the_pending_bound_a_walk_is_dropped_not_queued(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Dropping loses nothing: what it owed stays in the unread index for a later walk.
    store = SteppingStore()
    expiry = ReadExpiry(store, max_pending_walks=1)
    expiry.after_horizon(ALICE)
    await store.entered.wait()
    with caplog.at_level(logging.WARNING, logger="inboxql.retention"):
        expiry.after_horizon(BOB)
    expiry.after_horizon(ALICE)  # the running user's own horizon still joins its walk
    store.gate.set()
    await expiry.idle()
    assert expiry.dropped == 1
    assert {who for who, _ in store.steps} == {ALICE}
    assert [before for _, before in store.steps] == [None, "c1", "c2"] * 2
    assert "left to a later one" in caplog.text
    expiry.after_horizon(BOB)  # room again
    await expiry.idle()
    assert {who for who, _ in store.steps} == {ALICE, BOB}
