"""The JSON form of messages and events, shared by the queue payload, the cache and pub/sub."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from services.domain import (
    InboxEvent,
    Message,
    MessageId,
    MessageReceived,
    UnreadCountChanged,
    UserId,
)
from services.dynamo_keys import timestamp

PAYLOAD_VERSION = 1


def _message_fields(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "senderId": message.sender_id,
        "recipientId": message.recipient_id,
        "body": message.body,
        "sentAt": timestamp(message.sent_at),
    }


def _message_from(data: dict[str, Any]) -> Message:
    return Message(
        id=MessageId(data["id"]),
        sender_id=UserId(data["senderId"]),
        recipient_id=UserId(data["recipientId"]),
        body=data["body"],
        sent_at=datetime.fromisoformat(data["sentAt"]),
    )


_DECODE_ERRORS = (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError)


def encode_message(message: Message) -> str:
    return orjson.dumps({"v": PAYLOAD_VERSION, **_message_fields(message)}).decode()


def decode_message(payload: str | bytes) -> Message | None:
    """None for anything that is not a message of this payload version."""
    try:
        data = orjson.loads(payload)
        return _message_from(data) if data.get("v") == PAYLOAD_VERSION else None
    except _DECODE_ERRORS:
        return None


def encode_event(event: InboxEvent) -> bytes:
    if isinstance(event, UnreadCountChanged):
        return orjson.dumps(
            {"t": "count", "u": event.user_id, "n": event.count, "ver": event.version}
        )
    return orjson.dumps({"t": "message", **_message_fields(event.message)})


def decode_event(payload: str | bytes) -> InboxEvent | None:
    try:
        data = orjson.loads(payload)
        if data.get("t") == "count":
            return UnreadCountChanged(UserId(data["u"]), int(data["n"]), int(data["ver"]))
        if data.get("t") == "message":
            return MessageReceived(_message_from(data))
    except _DECODE_ERRORS:
        return None
    return None
