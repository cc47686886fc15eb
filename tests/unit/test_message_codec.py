"""The JSON form of messages and events."""

from __future__ import annotations

import orjson
import pytest

from services.domain import MessageReceived, UnreadCountChanged
from services.message_codec import decode_event, decode_message, encode_event, encode_message
from tests.unit.support import ALICE, BOB, make_message


def test_message_round_trip() -> None:
    message = make_message(BOB, ALICE, 123, body='h\u00e9llo \U0001f600 "quoted"\n')
    payload = encode_message(message)
    assert decode_message(payload) == message
    assert decode_message(payload.encode()) == message


def test_message_payload_shape() -> None:
    message = make_message(BOB, ALICE, 5)
    data = orjson.loads(encode_message(message))
    assert data == {
        "v": 1,
        "id": message.id,
        "senderId": "bob",
        "recipientId": "alice",
        "body": message.body,
        "sentAt": message.sent_at.isoformat(timespec="milliseconds"),
    }


def test_sent_at_keeps_milliseconds_and_zone() -> None:
    message = make_message(BOB, ALICE, 987)
    decoded = decode_message(encode_message(message))
    assert decoded is not None
    assert decoded.sent_at == message.sent_at
    assert decoded.sent_at.utcoffset() is not None


def test_count_event_round_trip() -> None:
    event = UnreadCountChanged(ALICE, 3, 17)
    assert decode_event(encode_event(event)) == event


def test_message_event_round_trip() -> None:
    event = MessageReceived(make_message(BOB, ALICE, 1, body="x" * 5000))
    assert decode_event(encode_event(event)) == event
    assert decode_event(encode_event(event).decode()) == event


@pytest.mark.parametrize("version", [None, 0, 2, "1"])
def test_other_payload_versions_decode_to_none(version: object) -> None:
    data = orjson.loads(encode_message(make_message(BOB, ALICE, 1)))
    if version is None:
        del data["v"]
    else:
        data["v"] = version
    assert decode_message(orjson.dumps(data)) is None


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "not json",
        "null",
        "[]",
        "42",
        '"string"',
        "{}",
        '{"v": 2, "id": "x", "senderId": "a", "recipientId": "b", "body": "", "sentAt": "x"}',
        '{"v": 1, "id": "x"}',
        '{"v": 1, "id": "x", "senderId": "a", "recipientId": "b", "body": "hi", "sentAt": "no"}',
        '{"v": 1, "id": "x", "senderId": "a", "recipientId": "b", "body": "hi", "sentAt": 5}',
        b"\xff\xfe",
    ],
)
def test_garbage_messages_decode_to_none(payload: str | bytes) -> None:
    assert decode_message(payload) is None


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"garbage",
        b"null",
        b"[1, 2]",
        b"{}",
        b'{"t": "other"}',
        b'{"t": "count", "u": "alice"}',
        b'{"t": "count", "u": "alice", "n": "many", "ver": 1}',
        b'{"t": "count", "u": "alice", "n": null, "ver": 1}',
        b'{"t": "message", "id": "x"}',
        encode_message(make_message(BOB, ALICE, 1)).encode(),  # a queue payload, not an event
    ],
)
def test_garbage_events_decode_to_none(payload: bytes) -> None:
    assert decode_event(payload) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", ""), ("id", "not-a-ulid"), ("senderId", ""), ("recipientId", "Has Space"), ("id", 7)],
)
def test_a_message_with_a_malformed_id_decodes_to_none(field: str, value: object) -> None:
    """DynamoDB would refuse such a message on every receive: it is poison, not a message."""
    data = orjson.loads(encode_message(make_message(BOB, ALICE, 5)))
    data[field] = value
    assert decode_message(orjson.dumps(data)) is None
