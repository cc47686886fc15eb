"""Each logged change as the GraphQL event a client receives, the kinds not produced yet
included: they are part of the contract."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schema.events import (
    MessageDeletedEvent,
    MessageReceivedEvent,
    MessagesReadEvent,
    MessagesUnreadEvent,
    inbox_event,
)
from services.change_log import (
    InboxChange,
    LiveChange,
    MessageDeletedChange,
    MessageReceivedChange,
    MessagesReadChange,
    MessagesUnreadChange,
)
from services.domain import conversation_id
from tests.unit.support import ALICE, BASE, BOB, make_message


def test_a_received_message_comes_unread_with_its_body() -> None:
    message = make_message(ALICE, BOB, 1)
    event = inbox_event(
        BOB, LiveChange(InboxChange(7, 3, MessageReceivedChange(message.id)), message)
    )
    assert isinstance(event, MessageReceivedEvent)
    assert (event.version, event.unread_count) == (7, 3)
    assert str(event.message.id) == message.id
    assert (event.message.known_body, event.message.is_read) == (message.body, False)
    assert event.message.deleted_at is None


def test_a_received_message_deleted_later_says_when() -> None:
    message = make_message(ALICE, BOB, 1, body="")
    deleted_at = BASE + timedelta(minutes=5)
    change = InboxChange(2, 0, MessageReceivedChange(message.id, deleted_at=deleted_at))
    event = inbox_event(BOB, LiveChange(change, message))
    assert isinstance(event, MessageReceivedEvent)
    assert event.message.deleted_at == deleted_at


def test_read_events_carry_ids_or_a_horizon_with_its_conversation() -> None:
    ids = (make_message(ALICE, BOB, 1).id, make_message(ALICE, BOB, 2).id)
    listed = inbox_event(BOB, LiveChange(InboxChange(3, 1, MessagesReadChange(ids))))
    assert isinstance(listed, MessagesReadEvent)
    assert [str(i) for i in listed.message_ids] == list(ids)
    assert (listed.all_before, listed.conversation_id) == (None, None)
    horizon = MessagesReadChange(all_before=BASE, with_user_id=ALICE)
    whole = inbox_event(BOB, LiveChange(InboxChange(4, 0, horizon)))
    assert isinstance(whole, MessagesReadEvent)
    assert whole.message_ids == [] and whole.all_before == BASE
    assert str(whole.conversation_id) == conversation_id(ALICE, BOB)


@pytest.mark.parametrize("count", [0, 2])
def test_unread_and_deleted_events(count: int) -> None:
    message_id = make_message(ALICE, BOB, 1).id
    unread = inbox_event(
        BOB, LiveChange(InboxChange(5, count, MessagesUnreadChange((message_id,))))
    )
    assert isinstance(unread, MessagesUnreadEvent)
    assert ([str(i) for i in unread.message_ids], unread.unread_count) == ([message_id], count)
    deleted = inbox_event(BOB, LiveChange(InboxChange(6, count, MessageDeletedChange(message_id))))
    assert isinstance(deleted, MessageDeletedEvent)
    assert (str(deleted.message_id), deleted.version) == (message_id, 6)
