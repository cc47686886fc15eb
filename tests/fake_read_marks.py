"""Read marks for `tests.fakes.FakeMessageStore`: markRead, markUnread and the two horizons
(markConversationRead, markAllRead), with what DynamoMessageStore promises of them.

The fake keeps each entry's state rather than horizons (docs/conversations-design.md,
section 2): what it must match is what can be observed, namely the entries' states, the exact
counts in the counter and in each summary, and one logged change per transaction. A horizon
flips the entries unread when it runs, so a message delivered after it stays unread whenever it
was sent, as the adapter's version horizons promise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from services.change_log import (
    ChangePayload,
    InboxChange,
    MarkedRead,
    MessagesReadChange,
    MessagesUnreadChange,
)
from services.domain import InboxEntry, MessageId, UserId
from services.dynamodb.transactions import read_chunks
from tests.fake_summaries import FakeSummaries

Commit = Callable[[UserId, int, ChangePayload], InboxChange]


def millis(value: datetime) -> datetime:
    """What a DynamoDB round trip leaves of a timestamp (`isoformat(timespec="milliseconds")`)."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _read(entry: InboxEntry, at: datetime) -> InboxEntry:
    return InboxEntry(entry.id, entry.sender_id, entry.recipient_id, entry.sent_at, at)


def _unread(entry: InboxEntry) -> InboxEntry:
    return InboxEntry(entry.id, entry.sender_id, entry.recipient_id, entry.sent_at)


class FakeReadMarks:
    """The store's inboxes and summaries, shared with it; `commit` advances a user's counter by
    a delta and logs the change beside it, as one step."""

    def __init__(
        self,
        entries: dict[UserId, dict[MessageId, InboxEntry]],
        summaries: FakeSummaries,
        commit: Commit,
        *,
        items_of: Callable[[InboxEntry], int] = lambda _: 1,
    ) -> None:
        self._entries = entries
        self._summaries = summaries
        self._commit = commit
        # What each entry's mark writes, for the transactions' size (read_chunks).
        self._items_of = items_of

    def mark_read(self, user_id: UserId, ids: Sequence[MessageId], read_at: datetime) -> MarkedRead:
        inbox = self._entries.get(user_id, {})
        owned = [inbox[i] for i in ids if i in inbox]
        result = {entry.id: entry for entry in owned if entry.is_read}
        pending = [entry for entry in owned if not entry.is_read]
        changes: list[InboxChange] = []
        # One transaction (one version step) per chunk, like DynamoMessageStore.
        for chunk in read_chunks(pending, self._items_of):
            for entry in chunk:
                inbox[entry.id] = _read(entry, millis(read_at))
                # Like DynamoMessageStore: the stored readAt is cut to milliseconds, while the
                # returned one for an entry flipped by this call is `read_at` as given.
                result[entry.id] = _read(entry, read_at)
            flipped = tuple(entry.id for entry in chunk)
            changes.append(self._commit(user_id, -len(chunk), MessagesReadChange(flipped)))
            self._summaries.read(user_id, chunk, changes[-1].version)
        return MarkedRead([result[i] for i in ids if i in result], tuple(changes))

    def mark_unread(self, user_id: UserId, ids: Sequence[MessageId]) -> MarkedRead:
        inbox = self._entries.get(user_id, {})
        owned = [inbox[i] for i in ids if i in inbox]
        changes: list[InboxChange] = []
        for chunk in read_chunks([e for e in owned if e.is_read], self._items_of):
            for entry in chunk:
                inbox[entry.id] = _unread(entry)
            flipped = tuple(entry.id for entry in chunk)
            changes.append(self._commit(user_id, len(chunk), MessagesUnreadChange(flipped)))
            self._summaries.unread(user_id, chunk, changes[-1].version)
        return MarkedRead([_unread(entry) for entry in owned], tuple(changes))

    def mark_conversation_read(
        self, user_id: UserId, other_id: UserId, read_at: datetime, *, list_limit: int
    ) -> MarkedRead:
        inbox = self._entries.get(user_id, {})
        pending = [e for e in inbox.values() if not e.is_read and e.sender_id == other_id]
        horizon = MessagesReadChange(all_before=read_at, with_user_id=other_id)
        return self._horizon(user_id, pending, horizon, list_limit)

    def mark_all_read(self, user_id: UserId, read_at: datetime, *, list_limit: int) -> MarkedRead:
        inbox = self._entries.get(user_id, {})
        pending = [entry for entry in inbox.values() if not entry.is_read]
        return self._horizon(user_id, pending, MessagesReadChange(all_before=read_at), list_limit)

    def _horizon(
        self,
        user_id: UserId,
        pending: Iterable[InboxEntry],
        change: MessagesReadChange,
        list_limit: int,
    ) -> MarkedRead:
        """One change however many it flips, none when nothing was unread; the entries listed
        are the newest it flipped."""
        newest_first = sorted(pending, key=lambda entry: entry.id, reverse=True)
        if not newest_first:
            return MarkedRead([])
        at = change.all_before
        assert at is not None
        inbox = self._entries[user_id]
        for entry in newest_first:
            inbox[entry.id] = _read(entry, millis(at))
        committed = self._commit(user_id, -len(newest_first), change)
        self._summaries.read(user_id, newest_first, committed.version)
        listed = [_read(e, at) for e in newest_first[:list_limit]]
        return MarkedRead(listed, (committed,), flipped=len(newest_first))
