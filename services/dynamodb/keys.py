"""The DynamoDB data model: key shapes and item codecs, kept apart from the calls that use them.

One table:
  MSG#<id>        / MSG          the message (sender, recipient, body, sentAt); immutable
  USER#<user>     / MSG#<id>     the recipient's inbox entry (no body) with its read state;
                                 `unreadSk` while unread (LSI `unread`), `convPk`/`convSk` for
                                 the conversation GSI
  USER#<user>     / COUNT        the unread counter and its version
  IDEM#<sender>#<clientMessageId> / IDEM   an idempotency key, expiring after 24 h (TTL)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.domain import InboxEntry, Message, MessageId, UserId, format_timestamp

UNREAD_INDEX = "unread"
CONVERSATION_INDEX = "conversation"
ENTRY_PREFIX = "MSG#"

Item = dict[str, Any]


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def user_pk(user_id: UserId) -> str:
    return f"USER#{user_id}"


def message_key(message_id: MessageId) -> Item:
    return {"pk": s(f"MSG#{message_id}"), "sk": s("MSG")}


def entry_key(user_id: UserId, message_id: MessageId) -> Item:
    return {"pk": s(user_pk(user_id)), "sk": s(ENTRY_PREFIX + message_id)}


def counter_key(user_id: UserId) -> Item:
    return {"pk": s(user_pk(user_id)), "sk": s("COUNT")}


def idempotency_key(sender_id: UserId, client_message_id: str) -> Item:
    return {"pk": s(f"IDEM#{sender_id}#{client_message_id}"), "sk": s("IDEM")}


def conversation_pk(a: UserId, b: UserId) -> str:
    low, high = sorted((a, b))
    return f"CONV#{low}#{high}"


def message_attributes(message: Message) -> Item:
    return {
        "id": s(message.id),
        "senderId": s(message.sender_id),
        "recipientId": s(message.recipient_id),
        "body": s(message.body),
        "sentAt": s(format_timestamp(message.sent_at)),
    }


def message_item(message: Message) -> Item:
    return message_key(message.id) | message_attributes(message)


def entry_item(message: Message) -> Item:
    return entry_key(message.recipient_id, message.id) | {
        "id": s(message.id),
        "senderId": s(message.sender_id),
        "recipientId": s(message.recipient_id),
        "sentAt": s(format_timestamp(message.sent_at)),
        "isRead": {"BOOL": False},
        "unreadSk": s(message.id),
        "convPk": s(conversation_pk(message.sender_id, message.recipient_id)),
        "convSk": s(message.id),
    }


def decode_message(item: Item) -> Message:
    return Message(
        id=MessageId(item["id"]["S"]),
        sender_id=UserId(item["senderId"]["S"]),
        recipient_id=UserId(item["recipientId"]["S"]),
        body=item["body"]["S"],
        sent_at=datetime.fromisoformat(item["sentAt"]["S"]),
    )


def decode_entry(item: Item) -> InboxEntry:
    read_at = item.get("readAt")
    return InboxEntry(
        id=MessageId(item["id"]["S"]),
        sender_id=UserId(item["senderId"]["S"]),
        recipient_id=UserId(item["recipientId"]["S"]),
        sent_at=datetime.fromisoformat(item["sentAt"]["S"]),
        read_at=datetime.fromisoformat(read_at["S"]) if read_at else None,
    )
