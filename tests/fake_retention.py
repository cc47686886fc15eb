"""Retention for `tests.fakes.FakeMessageStore`: each read message's `expiresAt` (one value for
its entry and its message item, as DynamoMessageStore writes both together), and what the
reads make of it (services/retention.py, docs/retention.md).

As in the adapter: markRead sets the expiry with the mark, markUnread removes it, and a horizon
sets none until the walk after it (`expire_read`) does. Past its expiry a message is absent to
every read, though nothing deletes it (TTL is late).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from services.domain import InboxEntry, MessageId, UserId
from services.read_state import ConversationPage, ConversationSummary
from services.retention import ExpiryStep, Retention, is_expired


class FakeExpiries:
    def __init__(self) -> None:
        self.retention: Retention | None = None
        # Epoch seconds, as the `expiresAt` TTL attribute holds it.
        self.expires_at: dict[MessageId, int] = {}

    def live(self, message_id: MessageId, now: datetime) -> bool:
        return not is_expired(self.expires_at.get(message_id), now)

    def items_of(self, entry: InboxEntry) -> int:
        """Items a mark writes for the entry: its message item too, when its expiry moves."""
        return 2 if self.retention is not None or entry.id in self.expires_at else 1

    def read(self, entries: Iterable[InboxEntry]) -> None:
        """Marked read, one by one: under retention they expire, in the same transaction."""
        if self.retention is None:
            return
        for entry in entries:
            if entry.read_at is not None:
                expires_at = self.retention.expires_at(entry.sent_at, entry.read_at)
                self.expires_at[entry.id] = expires_at

    def unread(self, ids: Iterable[MessageId]) -> None:
        for message_id in ids:
            self.expires_at.pop(message_id, None)

    def walk(self, inbox: Mapping[MessageId, InboxEntry]) -> ExpiryStep:
        """The walk after a horizon, all of it: every read message without an expiry gets
        one."""
        owed = [e for i, e in inbox.items() if e.is_read and i not in self.expires_at]
        self.read(owed)
        return ExpiryStep(len(owed) if self.retention is not None else 0, None)

    def conversations(
        self,
        owner: UserId,
        page: ConversationPage,
        inboxes: Mapping[UserId, Mapping[MessageId, InboxEntry]],
        now: datetime,
    ) -> ConversationPage:
        """The page as the list shows it: a conversation whose newest message expired shows
        the newest one still live, kept at its place, or leaves the list when none is.
        (The fake looks at every message; the adapter, only at old enough ones.)"""
        kept: list[ConversationSummary] = []
        positions: dict[UserId, MessageId] = {}
        for summary in page.summaries:
            last = summary.last_message_id
            assert last is not None
            pair = sorted((owner, summary.other_id))
            live = [
                entry
                for inbox in inboxes.values()
                for entry in inbox.values()
                if sorted((entry.sender_id, entry.recipient_id)) == pair
                and entry.id <= last
                and self.live(entry.id, now)
            ]
            if not live:
                continue
            shown = max(live, key=lambda entry: entry.id)
            if shown.id != last:
                positions[summary.other_id] = last
            kept.append(
                replace(
                    summary, last_message_id=shown.id, last_sent_by_owner=shown.sender_id == owner
                )
            )
        return ConversationPage(kept, page.has_next_page, positions)
