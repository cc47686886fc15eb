"""The JSON form of messages and events, shared by the queue payload, the cache and pub/sub.

Queue payloads and events may carry `rid`, the request id of the `sendMessage` (or other call)
behind them, so that the worker and every subscriber's process log under the same id. It is
optional: payloads without it, from before it existed, decode as before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from services.domain import (
    InboxEvent,
    Message,
    MessageReceived,
    UnreadCountChanged,
    UserId,
    format_timestamp,
    is_user_id,
    parse_message_id,
)
from services.observability.request_ids import is_request_id

PAYLOAD_VERSION = 1


def _message_fields(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "senderId": message.sender_id,
        "recipientId": message.recipient_id,
        "body": message.body,
        "sentAt": format_timestamp(message.sent_at),
    }


def _message_from(data: dict[str, Any]) -> Message:
    # Anything a queue or channel carries is checked like client input: a payload with an id
    # DynamoDB would refuse on every receive is undecodable, not a message to retry.
    message_id = parse_message_id(data["id"])
    sender, recipient = data["senderId"], data["recipientId"]
    if message_id is None or not (is_user_id(sender) and is_user_id(recipient)):
        raise ValueError("not a message: malformed id")
    return Message(
        id=message_id,
        sender_id=UserId(sender),
        recipient_id=UserId(recipient),
        body=data["body"],
        sent_at=datetime.fromisoformat(data["sentAt"]),
    )


_DECODE_ERRORS = (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError)


def _with_request_id(fields: dict[str, Any], request_id: str | None) -> dict[str, Any]:
    return fields if request_id is None else {**fields, "rid": request_id}


def _request_id_in(data: dict[str, Any]) -> str | None:
    # Anyone who can write to the queue or the channel writes this: only a sane token is kept.
    found = data.get("rid")
    return found if isinstance(found, str) and is_request_id(found) else None


def encode_message(message: Message, *, request_id: str | None = None) -> str:
    fields = {"v": PAYLOAD_VERSION, **_message_fields(message)}
    return orjson.dumps(_with_request_id(fields, request_id)).decode()


def decode_message_with_request_id(payload: str | bytes) -> tuple[Message | None, str | None]:
    """The message (None for anything that is not a message of this payload version) and the
    request id it was sent under, if it carries one."""
    try:
        data = orjson.loads(payload)
        if data.get("v") != PAYLOAD_VERSION:
            return None, None
        return _message_from(data), _request_id_in(data)
    except _DECODE_ERRORS:
        return None, None


def decode_message(payload: str | bytes) -> Message | None:
    return decode_message_with_request_id(payload)[0]


def encode_event(event: InboxEvent, *, request_id: str | None = None) -> bytes:
    if isinstance(event, UnreadCountChanged):
        fields = {"t": "count", "u": event.user_id, "n": event.count, "ver": event.version}
    else:
        fields = {"t": "message", **_message_fields(event.message)}
    return orjson.dumps(_with_request_id(fields, request_id))


def decode_event_with_request_id(payload: str | bytes) -> tuple[InboxEvent | None, str | None]:
    try:
        data = orjson.loads(payload)
        if data.get("t") == "count":
            count = UnreadCountChanged(UserId(data["u"]), int(data["n"]), int(data["ver"]))
            return count, _request_id_in(data)
        if data.get("t") == "message":
            return MessageReceived(_message_from(data)), _request_id_in(data)
    except _DECODE_ERRORS:
        return None, None
    return None, None


def decode_event(payload: str | bytes) -> InboxEvent | None:
    return decode_event_with_request_id(payload)[0]
