"""A user's read marks: markRead, markUnread, and the read horizons markConversationRead and
markAllRead (docs/conversations-design.md, sections 2 and 4.2-4.6).

Each call is one store call. What it committed is published to the reader (one `LiveChange`
per change, so its other devices and `inboxEvents` follow), then each sender whose messages it
read is told with a receipt (services/receipts.py); marking unread tells no sender.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.change_log import InboxChange, LiveChange, MarkedRead
from services.domain import (
    MAX_MARK_READ_IDS,
    MarkReadResult,
    MessageId,
    UnreadCount,
    UserId,
    parse_message_id,
    parse_user_id,
    to_millisecond,
    utc_now,
)
from services.errors import BadUserInput
from services.inbox import announce
from services.ports import EventPublisher, MessageStore
from services.read_expiry import ReadExpiry
from services.receipts import ReadReceipts

# A horizon answers with the newest messages it flipped, no more than markRead can: an inbox
# of 100,000 unread messages must not become a 100,000-message response (or list in memory).
HORIZON_RETURNED = MAX_MARK_READ_IDS


@dataclass
class ReadMarkService:
    store: MessageStore
    publisher: EventPublisher
    clock: Callable[[], datetime] = field(default=utc_now)
    # Under retention: gives the messages a horizon read their expiry, after the call (a
    # horizon writes no message).
    expiry: ReadExpiry | None = None

    async def mark_read(self, user_id: UserId, ids: Sequence[str]) -> MarkReadResult:
        parsed = _message_ids(ids)
        if not parsed:
            return MarkReadResult([], await self.store.unread_count(user_id))
        now = self._now()
        return await self._publish(user_id, await self.store.mark_read(user_id, parsed, now), now)

    async def mark_unread(self, user_id: UserId, ids: Sequence[str]) -> MarkReadResult:
        """The mirror of markRead: the caller's own read messages become unread again; other
        ids change nothing and are no error, and a second call gives the same answer."""
        parsed = _message_ids(ids)
        if not parsed:
            return MarkReadResult([], await self.store.unread_count(user_id))
        now = self._now()
        marked = await self.store.mark_unread(user_id, parsed, now)
        return await self._publish(user_id, marked, now)

    async def mark_conversation_read(self, user_id: UserId, with_user_id: str) -> MarkReadResult:
        """Everything received from `with_user_id` so far, in writes that do not grow with it;
        `with_user_id` may be the caller (notes to self)."""
        other = parse_user_id(with_user_id, "withUserId")
        now = self._now()
        marked = await self.store.mark_conversation_read(
            user_id, other, now, list_limit=HORIZON_RETURNED
        )
        if self.expiry is not None and marked.changes:
            self.expiry.after_horizon(user_id, with_user=other, read=marked.flipped)
        return await self._publish(user_id, marked, now)

    async def mark_all_read(self, user_id: UserId) -> MarkReadResult:
        """Everything delivered before the call: one horizon, whatever the backlog, so a steady
        stream of new messages cannot keep it going."""
        now = self._now()
        marked = await self.store.mark_all_read(user_id, now, list_limit=HORIZON_RETURNED)
        if self.expiry is not None and marked.changes:
            self.expiry.after_horizon(user_id)
        return await self._publish(user_id, marked, now)

    async def _publish(self, user_id: UserId, marked: MarkedRead, at: datetime) -> MarkReadResult:
        receipts = ReadReceipts(user_id)
        receipts.add(marked, at)
        result = MarkReadResult(marked.entries, await self._told(user_id, marked.changes))
        # After the reader's own changes, so its other devices learn of the read first. All at
        # once: a markAllRead can owe a receipt to hundreds of senders.
        await asyncio.gather(
            *(announce(self.publisher, r, to=sender) for sender, r in receipts.receipts())
        )
        return result

    async def _told(self, user_id: UserId, changes: Sequence[InboxChange]) -> UnreadCount:
        """Publish the changes a call committed, and return the count after them (the
        current one when it committed none)."""
        for change in changes:
            await announce(self.publisher, LiveChange(change), to=user_id)
        if not changes:
            return await self.store.unread_count(user_id)
        return UnreadCount(changes[-1].count, changes[-1].version)

    def _now(self) -> datetime:
        return to_millisecond(self.clock())


def _message_ids(ids: Sequence[str]) -> list[MessageId]:
    """At most MAX_MARK_READ_IDS asked; malformed ids are unknown ones, and each counts once."""
    if len(ids) > MAX_MARK_READ_IDS:
        raise BadUserInput(f"`ids` must hold at most {MAX_MARK_READ_IDS} ids")
    return list(dict.fromkeys(p for p in map(parse_message_id, ids) if p is not None))
