"""The conversation list: each conversation the user sent or received in, newest activity
first, with its newest message and the user's unread count in it (the summaries the store
keeps beside the counter, docs/conversations-design.md, sections 1 and 4.1)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from services.cursor import decode_conversation_cursor
from services.domain import (
    ConversationId,
    InboxEntry,
    MessageId,
    UserId,
    check_page_size,
    conversation_id,
)
from services.ports import MessageStore
from services.read_state import ConversationSummary


@dataclass(frozen=True, slots=True)
class Conversation:
    """`last_message` carries the read state of its recipient, whichever side the viewer is
    on: the viewer's own for a message received, the other user's for one sent."""

    id: ConversationId
    with_user_id: UserId
    last_message: InboxEntry
    unread_count: int


@dataclass(frozen=True, slots=True)
class ConversationList:
    conversations: list[Conversation]
    has_next_page: bool


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
        entries = await self._last_entries(user_id, page.summaries)
        return ConversationList(
            [
                Conversation(
                    conversation_id(user_id, summary.other_id),
                    summary.other_id,
                    entries[summary.last_message_id],
                    summary.unread,
                )
                for summary in page.summaries
                # A summary is moved only after its message's entry is stored, so every
                # listed message has one.
                if summary.last_message_id in entries
            ],
            page.has_next_page,
        )

    async def _last_entries(
        self, user_id: UserId, summaries: list[ConversationSummary]
    ) -> dict[MessageId | None, InboxEntry]:
        """Each listed message's inbox entry, from its recipient's inbox: one batch read per
        recipient, all at once."""
        by_recipient: dict[UserId, list[MessageId]] = {}
        for summary in summaries:
            if summary.last_message_id is None:
                continue
            recipient = summary.other_id if summary.last_sent_by_owner else user_id
            by_recipient.setdefault(recipient, []).append(summary.last_message_id)
        found = await asyncio.gather(
            *(self.store.get_entries(recipient, ids) for recipient, ids in by_recipient.items())
        )
        return {message_id: entry for entries in found for message_id, entry in entries.items()}
