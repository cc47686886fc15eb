"""The worker's part of the sender's conversation summary: run after the recipient's live
event is published, and again on a redelivery, so a failure of it loses neither."""

from __future__ import annotations

import pytest

from services.change_log import LiveChange
from services.delivery import deliver
from services.errors import DependencyUnavailable
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
