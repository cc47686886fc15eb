"""The conversation list: each conversation the user sent or received in, newest activity
first, with its newest message and the user's unread count in it (the summaries the store
keeps beside the counter, docs/conversations-design.md, sections 1 and 4.1).

A page is one Query of the `activity` index. The read state of each last message lives in
its recipient's inbox entry (the other user's, for a message the caller sent), so it is read
only when asked for (`load_entries`), one batch read per recipient."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.cursor import decode_conversation_cursor
from services.domain import (
    ConversationId,
    InboxEntry,
    MessageId,
    UserId,
    check_page_size,
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


@dataclass(frozen=True, slots=True)
class ConversationList:
    conversations: list[Conversation]
    has_next_page: bool


EntryKey = tuple[UserId, MessageId]


@dataclass
class ConversationService:
    store: MessageStore

    async def conversations(
        self, user_id: UserId, *, first: int, after: str | None
    ) -> ConversationList:
        page = await self.store.list_conversations(
            user_id,
            limit=check_page_size(first),
            before=decode_conversation_cursor(after) if after is not None else None,
        )
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
