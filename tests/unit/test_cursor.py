"""Opaque page cursors."""

from __future__ import annotations

import base64

import pytest

from services.cursor import decode_cursor, encode_cursor
from services.domain import MessageId, new_message_id
from services.errors import BadUserInput
from tests.unit.support import BASE


def test_round_trip() -> None:
    message_id = new_message_id(BASE)
    cursor = encode_cursor(message_id)
    assert decode_cursor(cursor) == message_id
    assert message_id not in cursor  # opaque, not the id itself
    assert "=" not in cursor  # no padding: safe in URLs and query strings


def test_round_trip_over_many_ids() -> None:
    ids = [new_message_id(BASE) for _ in range(200)]
    assert [decode_cursor(encode_cursor(i)) for i in ids] == ids


def test_cursor_is_url_safe() -> None:
    for _ in range(200):
        cursor = encode_cursor(new_message_id(BASE))
        assert set(cursor) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!!",
        "a",
        "\u00e9t\u00e9",
        _b64(b"m1:"),
        _b64(b"m1:not-a-ulid"),
        _b64(b"m1:" + b"\xff" * 26),
        _b64(b"m2:" + new_message_id(BASE).encode()),
        _b64(new_message_id(BASE).encode()),
        _b64(b"m1:" + new_message_id(BASE).lower().encode()),
        _b64(b"m1:" + new_message_id(BASE).encode() + b"X"),
        new_message_id(BASE),
    ],
)
def test_garbage_is_rejected(cursor: str) -> None:
    with pytest.raises(BadUserInput, match="after"):
        decode_cursor(cursor)


def test_padded_cursor_is_accepted() -> None:
    message_id = MessageId(str(new_message_id(BASE)))
    padded = base64.urlsafe_b64encode(b"m1:" + message_id.encode()).decode()
    assert decode_cursor(padded) == message_id
