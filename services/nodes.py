"""`node(id)`: any object the caller may see, by its id alone (Relay's Node interface).

The ids clients already hold are the global ids, unchanged: a message id is a ULID (26
characters, the first 0-7) and a conversation id 24 characters of Crockford base32
(services/domain.py), so the length alone tells which one an id is, and no id can be both.
Anything else is malformed and refused, since no node could ever have it.

The authorization is `message(id)`'s: someone else's id and an unknown id both read None,
after the same calls.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.conversations import Conversation, ConversationService
from services.domain import (
    InboxEntry,
    Message,
    UserId,
    parse_conversation_id,
    parse_message_id,
)
from services.errors import BadUserInput
from services.inbox import InboxService


@dataclass(frozen=True, slots=True)
class MessageNode:
    """A message as `message(id)` finds it: its recipient's entry (read state) and its body."""

    entry: InboxEntry
    message: Message


Node = MessageNode | Conversation


async def find_node(
    inbox: InboxService, conversations: ConversationService, user_id: UserId, raw_id: str
) -> Node | None:
    message_id = parse_message_id(raw_id)
    if message_id is not None:
        found = await inbox.message(user_id, message_id)
        return None if found is None else MessageNode(*found)
    conversation_id = parse_conversation_id(raw_id)
    if conversation_id is not None:
        return await conversations.conversation(user_id, conversation_id)
    raise BadUserInput("`id` is not a valid node id: neither a message id nor a conversation id")
