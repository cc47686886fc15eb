"""The worker's part of the sender's conversation summary: run beside the recipient's live
event, which it never holds up or loses, and again on a redelivery."""

from __future__ import annotations

import asyncio

import pytest

from services.change_log import LiveChange
from services.delivery import deliver
from services.domain import Message, UserId
from services.errors import DependencyUnavailable
from services.ports import LiveEvent
from tests.fakes import FakeEventHub, FakeMessageStore
from tests.unit.support import ALICE, BOB, make_message


async def test_a_failed_follow_up_is_redone_by_the_redelivery() -> None:
    store, hub = FakeMessageStore(), FakeEventHub()
    sent = make_message(ALICE, BOB, 1)
    store.failures["touch_sender_summary"] = [DependencyUnavailable("throttled")]
    async with hub.subscribe(BOB) as events:
        with pytest.raises(DependencyUnavailable):
            await deliver(sent, store, hub)
        # The recipient heard of the message before the follow-up failed.
        published = await anext(events)
        assert isinstance(published, LiveChange) and published.message == sent
    assert store.summaries.get(ALICE, BOB) is None
    # The queue message was not acknowledged: its redelivery stores nothing and moves the
    # sender's side.
    assert not (await deliver(sent, store, hub)).stored
    summary = store.summaries.get(ALICE, BOB)
    assert summary is not None and summary.last_message_id == sent.id
    assert summary.last_sent_by_owner and summary.unread == 0
    assert store.calls["touch_sender_summary"] == 2


class _PublishWaitsForTheSummary(FakeEventHub):
    """A publish that completes only once the sender's summary is being moved."""

    def __init__(self, touched: asyncio.Event) -> None:
        super().__init__()
        self.touched = touched

    async def publish(self, user_id: UserId, event: LiveEvent) -> None:
        await self.touched.wait()
        await super().publish(user_id, event)


class _SummaryTold(FakeMessageStore):
    def __init__(self, touched: asyncio.Event) -> None:
        super().__init__()
        self.touched = touched

    async def touch_sender_summary(self, message: Message) -> None:
        self.touched.set()
        await super().touch_sender_summary(message)


async def test_the_summary_and_the_publish_run_side_by_side() -> None:
    # In sequence (publish, then the summary) this delivery would never finish.
    touched = asyncio.Event()
    store, hub = _SummaryTold(touched), _PublishWaitsForTheSummary(touched)
    sent = make_message(ALICE, BOB, 1)
    async with hub.subscribe(BOB) as events:
        async with asyncio.timeout(5):
            assert (await deliver(sent, store, hub)).stored
            published = await anext(events)
    assert isinstance(published, LiveChange) and published.message == sent
    summary = store.summaries.get(ALICE, BOB)
    assert summary is not None and summary.last_message_id == sent.id
