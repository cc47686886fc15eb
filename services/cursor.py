"""Opaque page cursors. A cursor names the last message of a page; the next page starts below it."""

import base64
import binascii

from services.domain import MessageId, parse_message_id
from services.errors import BadUserInput

_PREFIX = b"m1:"


def encode_cursor(message_id: MessageId) -> str:
    return base64.urlsafe_b64encode(_PREFIX + message_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> MessageId:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise BadUserInput("`after` is not a valid cursor") from None
    message_id = None
    if raw.startswith(_PREFIX):
        try:
            message_id = parse_message_id(raw[len(_PREFIX) :].decode("ascii"))
        except UnicodeDecodeError:
            message_id = None
    if message_id is None:
        raise BadUserInput("`after` is not a valid cursor")
    return message_id
