"""deleteMessage for `tests.fakes.FakeMessageStore`: what services/dynamodb/deletion.py commits
in one transaction, done on the fake's dicts in one step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from services.change_log import (
    ChangePayload,
    Deletion,
    InboxChange,
    MessageDeletedChange,
    MessageReceivedChange,
)
from services.domain import InboxEntry, Message, MessageId, UserId
from services.read_state import ConversationSummary
from tests.fake_retention import FakeExpiries
from tests.fake_summaries import FakeSummaries


class FakeMessageStore(Protocol):
    """What of `tests.fakes.FakeMessageStore` a deletion changes (named here, not imported:
    the store calls this module)."""

    messages: dict[MessageId, Message]
    entries: dict[UserId, dict[MessageId, InboxEntry]]
    logs: dict[UserId, dict[int, tuple[InboxChange, datetime]]]
    summaries: FakeSummaries
    expiries: FakeExpiries
    now: Callable[[], datetime]

    def inbox_of(self, user_id: UserId) -> dict[MessageId, InboxEntry]: ...

    def commit(self, user_id: UserId, delta: int, payload: ChangePayload) -> InboxChange: ...


def delete_message(
    store: FakeMessageStore, sender_id: UserId, message_id: MessageId, at: datetime
) -> Deletion:
    message = store.messages.get(message_id)
    if message is not None and not store.expiries.live(message_id, store.now()):
        message = None  # expired: gone, though TTL has not deleted it yet
    if message is None or message.sender_id != sender_id or message.deleted_at is not None:
        return Deletion(False)
    recipient = message.recipient_id
    store.messages[message_id] = replace(message, body="", deleted_at=at)
    entry = store.inbox_of(recipient).pop(message_id, None)
    if entry is None:
        # Still queued: the tombstone alone, which its delivery will honour.
        return Deletion(True, None, recipient)
    was_unread = not entry.is_read
    change = store.commit(recipient, -int(was_unread), MessageDeletedChange(message_id))
    _mark_received(store, recipient, message_id, at)
    previous = _previous(store, sender_id, recipient, message_id)
    mine = store.summaries.get(recipient, sender_id)
    if mine is not None:
        mine = replace(
            _fallen_back(mine, recipient, message_id, previous),
            unread=max(0, mine.unread - int(was_unread)),
            unread_version=change.version,
        )
        if sender_id == recipient:
            mine = replace(mine, deleted_id=message_id)
        store.summaries.put(recipient, mine)
    if sender_id != recipient:
        theirs = store.summaries.get(sender_id, recipient) or ConversationSummary(recipient)
        theirs = _fallen_back(theirs, sender_id, message_id, previous)
        store.summaries.put(sender_id, replace(theirs, deleted_id=message_id))
    return Deletion(True, change, recipient)


def _mark_received(
    store: FakeMessageStore, user_id: UserId, message_id: MessageId, at: datetime
) -> None:
    log = store.logs.get(user_id, {})
    for version, (change, written) in log.items():
        payload = change.payload
        if isinstance(payload, MessageReceivedChange) and payload.message_id == message_id:
            marked = InboxChange(change.version, change.count, replace(payload, deleted_at=at))
            log[version] = (marked, written)


def _previous(
    store: FakeMessageStore, a: UserId, b: UserId, before: MessageId
) -> tuple[MessageId, UserId] | None:
    pair = sorted((a, b))
    older = [
        entry
        for inbox in store.entries.values()
        for entry in inbox.values()
        if sorted((entry.sender_id, entry.recipient_id)) == pair and entry.id < before
    ]
    if not older:
        return None
    newest = max(older, key=lambda entry: entry.id)
    return newest.id, newest.sender_id


def _fallen_back(
    summary: ConversationSummary,
    owner: UserId,
    message_id: MessageId,
    previous: tuple[MessageId, UserId] | None,
) -> ConversationSummary:
    if summary.last_message_id != message_id:
        return summary
    if previous is None:
        return replace(summary, last_message_id=None, last_sent_by_owner=False)
    return replace(summary, last_message_id=previous[0], last_sent_by_owner=previous[1] == owner)
