"""The JSON form of messages and events, shared by the queue payload, the cache and pub/sub.

Queue payloads and events may carry `rid`, the request id of the `sendMessage` (or other call)
behind them, so that the worker and every subscriber's process log under the same id. It is
optional: payloads without it, from before it existed, decode as before.

Events published by a traced process also carry its trace context, `tp` (the W3C
`traceparent`) and `ts` (`tracestate`, when set), so that the push on a subscriber's socket
joins the sender's trace (docs/tracing.md). Optional in the same way: an event without them
decodes as before, and processes that predate them ignore them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from services.change_log import (
    ChangeKind,
    ChangePayload,
    InboxChange,
    LiveChange,
    MessageDeletedChange,
    MessageReceivedChange,
    MessagesReadChange,
    MessagesUnreadChange,
)
from services.domain import (
    ConversationId,
    Message,
    MessageId,
    MessageReceived,
    ReadReceipt,
    Typing,
    UnreadCountChanged,
    UserId,
    format_timestamp,
    is_user_id,
    parse_conversation_id,
    parse_message_id,
)
from services.observability.request_ids import is_request_id
from services.ports import LiveEvent

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


def _with_request_id(
    fields: dict[str, Any], request_id: str | None, trace: Mapping[str, str] | None = None
) -> dict[str, Any]:
    if trace:
        fields = fields | {
            field: trace[name] for name, field in _TRACE_FIELDS.items() if name in trace
        }
    return fields if request_id is None else {**fields, "rid": request_id}


# The carrier's names (services/observability/trace_carrier.py) and their fields in an event.
_TRACE_FIELDS = {"traceparent": "tp", "tracestate": "ts"}


def _trace_in(data: dict[str, Any]) -> dict[str, str] | None:
    """Only text is kept; whether it is a valid context is the tracing side's to judge."""
    carrier = {
        name: value
        for name, field in _TRACE_FIELDS.items()
        if isinstance(value := data.get(field), str)
    }
    return carrier or None


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


def encode_event(
    event: LiveEvent, *, request_id: str | None = None, trace: Mapping[str, str] | None = None
) -> bytes:
    """`trace`: the publisher's trace context, when it is traced."""
    if isinstance(event, LiveChange):
        fields = _live_change_fields(event)
    elif isinstance(event, ReadReceipt):
        fields = _receipt_fields(event)
    elif isinstance(event, Typing):
        fields = _typing_fields(event)
    elif isinstance(event, UnreadCountChanged):
        fields = {"t": "count", "u": event.user_id, "n": event.count, "ver": event.version}
    else:
        fields = {"t": "message", **_message_fields(event.message)}
    return orjson.dumps(_with_request_id(fields, request_id, trace))


def decode_event_with_request_id(payload: str | bytes) -> tuple[LiveEvent | None, str | None]:
    """Any kind published on a user's channel, or None for what this process does not know
    (a newer process's kind is dropped, like any unknown payload)."""
    event, request_id, _ = decode_published_event(payload)
    return event, request_id


def decode_published_event(
    payload: str | bytes,
) -> tuple[LiveEvent | None, str | None, dict[str, str] | None]:
    """`decode_event_with_request_id`, and the publisher's trace context when it sent one."""
    try:
        data = orjson.loads(payload)
        if data.get("t") == "count":
            event: LiveEvent | None = UnreadCountChanged(
                UserId(data["u"]), int(data["n"]), int(data["ver"])
            )
        elif data.get("t") == "message":
            event = MessageReceived(_message_from(data))
        else:
            event = _signal_from(data)
    except _DECODE_ERRORS:
        return None, None, None
    if event is None:
        return None, None, None
    return event, _request_id_in(data), _trace_in(data)


def decode_event(payload: str | bytes) -> LiveEvent | None:
    return decode_event_with_request_id(payload)[0]


# The kinds added for issue 13 (docs/conversations-design.md, sections 5 and 6). Processes
# that predate them drop them as they drop any unknown payload.
LiveSignal = LiveChange | ReadReceipt | Typing


def _change_fields(payload: ChangePayload) -> dict[str, Any]:
    match payload:
        case MessageReceivedChange(_, deleted_at):
            return {} if deleted_at is None else {"d": format_timestamp(deleted_at)}
        case MessagesReadChange(message_ids, all_before, with_user_id):
            fields: dict[str, Any] = {"ids": list(message_ids)}
            if all_before is not None:
                fields["ab"] = format_timestamp(all_before)
            if with_user_id is not None:
                fields["w"] = with_user_id
            return fields
        case MessagesUnreadChange(message_ids):
            return {"ids": list(message_ids)}
        case MessageDeletedChange(message_id):
            return {"m": message_id}


def _live_change_fields(live: LiveChange) -> dict[str, Any]:
    change = live.change
    fields = {"t": "ev", "ver": change.version, "n": change.count, "k": change.kind.value}
    fields |= _change_fields(change.payload)
    if live.message is not None:
        fields |= _message_fields(live.message)
    return fields


def _receipt_fields(receipt: ReadReceipt) -> dict[str, Any]:
    return {
        "t": "rcpt",
        "readerId": receipt.reader_id,
        "conversationId": receipt.conversation_id,
        "messageIds": list(receipt.message_ids),
        "upTo": receipt.up_to,
        "readAt": format_timestamp(receipt.read_at),
    }


def _typing_fields(typing: Typing) -> dict[str, Any]:
    return {"t": "typ", "fromUserId": typing.from_user_id, "conversationId": typing.conversation_id}


def _id(raw: Any) -> MessageId:
    found = parse_message_id(raw) if isinstance(raw, str) else None
    if found is None:
        raise ValueError("malformed message id")
    return found


def _ids(raw: Any) -> tuple[MessageId, ...]:
    if not isinstance(raw, list):
        raise ValueError("message ids come as a list")
    return tuple(map(_id, raw))


def _user(raw: Any) -> UserId:
    if not (isinstance(raw, str) and is_user_id(raw)):
        raise ValueError("malformed user id")
    return UserId(raw)


def _conversation(raw: Any) -> ConversationId:
    found = parse_conversation_id(raw) if isinstance(raw, str) else None
    if found is None:
        raise ValueError("malformed conversation id")
    return found


def _optional_time(raw: Any) -> datetime | None:
    return None if raw is None else datetime.fromisoformat(raw)


def _live_change_from(data: dict[str, Any]) -> LiveChange:
    kind = ChangeKind(data["k"])
    message: Message | None = None
    payload: ChangePayload
    if kind is ChangeKind.RECEIVED:
        message = _message_from(data)
        payload = MessageReceivedChange(message.id, _optional_time(data.get("d")))
    elif kind is ChangeKind.READ:
        other = data.get("w")
        payload = MessagesReadChange(
            _ids(data["ids"]),
            _optional_time(data.get("ab")),
            None if other is None else _user(other),
        )
    elif kind is ChangeKind.UNREAD:
        payload = MessagesUnreadChange(_ids(data["ids"]))
    else:
        payload = MessageDeletedChange(_id(data["m"]))
    # bool is an int to Python, and a count of True is not a count.
    version, count = data["ver"], data["n"]
    if not all(type(value) is int for value in (version, count)):
        raise ValueError("a version and a count are integers")
    return LiveChange(InboxChange(version, count, payload), message)


def _signal_from(data: dict[str, Any]) -> LiveSignal | None:
    kind = data.get("t")
    if kind == "ev":
        return _live_change_from(data)
    if kind == "rcpt":
        return ReadReceipt(
            reader_id=_user(data["readerId"]),
            conversation_id=_conversation(data["conversationId"]),
            message_ids=_ids(data["messageIds"]),
            up_to=_id(data["upTo"]),
            read_at=datetime.fromisoformat(data["readAt"]),
        )
    if kind == "typ":
        return Typing(_user(data["fromUserId"]), _conversation(data["conversationId"]))
    return None
