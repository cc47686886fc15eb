"""Opaque page cursors. A cursor names the last message of a page; the next page starts below it.
A conversation list's cursor names the newest message of its last conversation, under its own
prefix: a cursor is good only for the list that gave it."""

import base64
import binascii

from services.domain import MessageId, parse_message_id
from services.errors import BadUserInput

_PREFIX = b"m1:"
_CONVERSATIONS_PREFIX = b"c1:"
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def encode_cursor(message_id: MessageId, *, prefix: bytes = _PREFIX) -> str:
    # One per edge of every page: binascii directly, with no newline and no padding to strip
    # (base64.urlsafe_b64encode adds two calls and a translation table).
    encoded = binascii.b2a_base64(prefix + message_id.encode(), newline=False)
    return encoded.translate(_URLSAFE).decode().rstrip("=")


def encode_conversation_cursor(last_message_id: MessageId) -> str:
    return encode_cursor(last_message_id, prefix=_CONVERSATIONS_PREFIX)


def decode_conversation_cursor(cursor: str) -> MessageId:
    return decode_cursor(cursor, prefix=_CONVERSATIONS_PREFIX)


def decode_cursor(cursor: str, *, prefix: bytes = _PREFIX) -> MessageId:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise BadUserInput("`after` is not a valid cursor") from None
    message_id = None
    if raw.startswith(prefix):
        try:
            message_id = parse_message_id(raw[len(prefix) :].decode("ascii"))
        except UnicodeDecodeError:
            message_id = None
    if message_id is None:
        raise BadUserInput("`after` is not a valid cursor")
    return message_id
