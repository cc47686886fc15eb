"""The conversation list: each conversation the user sent or received in, newest activity
first, with its newest message and the user's unread count in it (the summaries the store
keeps beside the counter, docs/conversations-design.md, sections 1 and 4.1).

A page is one Query of the `activity` index. The read state of each last message lives in
its recipient's inbox entry (the other user's, for a message the caller sent), so it is read
only when asked for (`load_entries`), one batch read per recipient.

A conversation id is a one-way hash of the pair (services/domain.py), and summaries are keyed
by the other user: no read finds a conversation by its id. `conversation` (for `node(id)`)
walks the caller's list instead, newest first, in pages of 100 (the Query a
`conversations(first: 100)` page makes), and gives up after `NODE_WALK_PAGES` of them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.cursor import decode_conversation_cursor
from services.domain import (
    MAX_PAGE_SIZE,
    ConversationId,
    InboxEntry,
    MessageId,
    UserId,
    check_page_size,
    continues_after,
    conversation_id,
    sent_at_of,
)
from services.ports import MessageStore


@dataclass(frozen=True, slots=True)
class Conversation:
    id: ConversationId
    with_user_id: UserId
    last_message_id: MessageId
    last_sender_id: UserId
    last_recipient_id: UserId
    unread_count: int
    # The last message's sentAt, which its id encodes (to the millisecond, as stored).
    updated_at: datetime
    # Where the list keeps it, the cursor: its newest message's id, which stays put when that
    # message has expired and an older one is shown (services/retention.py). None: the last.
    listed_at: MessageId | None = None

    @property
    def position(self) -> MessageId:
        return self.listed_at or self.last_message_id


@dataclass(frozen=True, slots=True)
class ConversationList:
    conversations: list[Conversation]
    has_next_page: bool
    has_previous_page: bool = False


EntryKey = tuple[UserId, MessageId]

# How far `conversation` walks: the caller's 1,000 most recently active conversations. Past
# them a conversation reads as unknown; the bound keeps one `node(id)` from costing a read
# per 100 conversations of a user who has very many.
NODE_WALK_PAGES = 10


@dataclass
class ConversationService:
    store: MessageStore

    async def conversations(
        self, user_id: UserId, *, first: int, after: str | None
    ) -> ConversationList:
        before = decode_conversation_cursor(after) if after is not None else None
        listed = await self._page(user_id, check_page_size(first), before)
        return ConversationList(
            listed.conversations, listed.has_next_page, has_previous_page=continues_after(after)
        )

    async def conversation(self, user_id: UserId, wanted: ConversationId) -> Conversation | None:
        """The caller's conversation with this id, or None for another pair's id or an unknown
        one: both walk the whole list (up to `NODE_WALK_PAGES` pages), so their calls are the
        same."""
        before: MessageId | None = None
        for _ in range(NODE_WALK_PAGES):
            listed = await self._page(user_id, MAX_PAGE_SIZE, before)
            found = next((c for c in listed.conversations if c.id == wanted), None)
            if found is not None:
                return found
            if not listed.has_next_page or not listed.conversations:
                return None
            before = listed.conversations[-1].position
        return None

    async def _page(
        self, user_id: UserId, limit: int, before: MessageId | None
    ) -> ConversationList:
        page = await self.store.list_conversations(user_id, limit=limit, before=before)
        listed: list[Conversation] = []
        for summary in page.summaries:
            last = summary.last_message_id
            if last is None:
                continue
            other = summary.other_id
            sender, recipient = (user_id, other) if summary.last_sent_by_owner else (other, user_id)
            listed.append(
                Conversation(
                    conversation_id(user_id, other),
                    other,
                    last,
                    sender,
                    recipient,
                    summary.unread,
                    sent_at_of(last),
                    page.positions.get(other),
                )
            )
        return ConversationList(listed, page.has_next_page)

    async def load_entries(self, keys: Sequence[EntryKey]) -> dict[EntryKey, InboxEntry]:
        """Inbox entries by (recipient, id), for messages the caller was shown already (a
        conversation's last message): one batch read per recipient, all at once."""
        by_recipient: dict[UserId, list[MessageId]] = {}
        for recipient, message_id in dict.fromkeys(keys):
            by_recipient.setdefault(recipient, []).append(message_id)
        found = await asyncio.gather(
            *(self.store.get_entries(recipient, ids) for recipient, ids in by_recipient.items())
        )
        return {
            (recipient, message_id): entry
            for recipient, entries in zip(by_recipient, found, strict=True)
            for message_id, entry in entries.items()
        }
