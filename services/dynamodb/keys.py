"""The DynamoDB data model: key shapes and item codecs, kept apart from the calls that use them.

One table:
  MSG#<id>        / MSG          the message (sender, recipient, body, sentAt), written by the
                                 API before it queues it; a deletion REMOVEs the body and SETs
                                 `deletedAt` (deletion_items.py)
  USER#<user>     / MSG#<id>     the recipient's inbox entry (no body) with its read state;
                                 `unreadSk` while unread (LSI `unread`), `convPk`/`convSk` for
                                 the conversation GSI
  USER#<user>     / COUNT        the unread counter and its version; `hAll`/`hAllAt` (the
                                 markAllRead horizon), `floor`, `sm` (read_state_items.py)
  USER#<user>     / L#<version>  one change of the user's inbox, per version (change_items.py)
  USER#<user>     / SUM#<other>  the user's summary of a conversation; `act` sorts it in the
                                 GSI `activity` (read_state_items.py)
  IDEM#<sender>#<clientMessageId> / IDEM   an idempotency key, expiring after 24 h (TTL)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.domain import (
    InboxEntry,
    Message,
    MessageId,
    UserId,
    format_timestamp,
    is_user_id,
)

UNREAD_INDEX = "unread"
CONVERSATION_INDEX = "conversation"
ACTIVITY_INDEX = "activity"
ENTRY_PREFIX = "MSG#"
LOG_PREFIX = "L#"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
SUMMARY_PREFIX = "SUM#"
# Zero-padded so that versions sort as numbers in a string sort key; 10 digits outlast any
# user's changes.
_VERSION_DIGITS = 10

Item = dict[str, Any]


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def epoch_ms(at: datetime) -> int:
    """New attributes store times as epoch milliseconds: 13 digits against an ISO string's 29.
    Integer arithmetic, because a float timestamp can land a microsecond short of the
    millisecond and round a stored time down by one."""
    return (at - _EPOCH) // _MILLISECOND


def from_epoch_ms(millis: int) -> datetime:
    return _EPOCH + millis * _MILLISECOND


def user_pk(user_id: UserId) -> str:
    return f"USER#{user_id}"


def message_key(message_id: MessageId) -> Item:
    return {"pk": s(f"MSG#{message_id}"), "sk": s("MSG")}


def entry_key(user_id: UserId, message_id: MessageId) -> Item:
    return {"pk": s(user_pk(user_id)), "sk": s(ENTRY_PREFIX + message_id)}


def counter_key(user_id: UserId) -> Item:
    return {"pk": s(user_pk(user_id)), "sk": s("COUNT")}


def log_sk(version: int) -> str:
    if not 0 <= version < 10**_VERSION_DIGITS:
        raise ValueError(f"version {version} does not fit the log's sort key")
    return f"{LOG_PREFIX}{version:0{_VERSION_DIGITS}d}"


def log_key(user_id: UserId, version: int) -> Item:
    return {"pk": s(user_pk(user_id)), "sk": s(log_sk(version))}


def version_of_log_sk(sk: str) -> int:
    digits = sk.removeprefix(LOG_PREFIX)
    if digits == sk or len(digits) != _VERSION_DIGITS or not digits.isdigit():
        raise ValueError(f"not a log sort key: {sk!r}")
    return int(digits)


def summary_key(user_id: UserId, other_id: UserId) -> Item:
    return {"pk": s(user_pk(user_id)), "sk": s(SUMMARY_PREFIX + other_id)}


def other_of_summary_sk(sk: str) -> UserId:
    other = sk.removeprefix(SUMMARY_PREFIX)
    if other == sk or not is_user_id(other):
        raise ValueError(f"not a summary sort key: {sk!r}")
    return UserId(other)


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
    """A deleted message is a tombstone: `deletedAt` (epoch ms) and no body."""
    deleted = item.get("deletedAt")
    return Message(
        id=MessageId(item["id"]["S"]),
        sender_id=UserId(item["senderId"]["S"]),
        recipient_id=UserId(item["recipientId"]["S"]),
        body=item["body"]["S"] if "body" in item else "",
        sent_at=datetime.fromisoformat(item["sentAt"]["S"]),
        deleted_at=from_epoch_ms(int(deleted["N"])) if deleted else None,
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
