"""The new pub/sub kinds (`ev`, `rcpt`, `typ`) and conversation ids: round trips, and old and
new decoders ignoring each other's payloads."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest

from services.change_log import (
    InboxChange,
    LiveChange,
    MessageDeletedChange,
    MessageReceivedChange,
    MessagesReadChange,
    MessagesUnreadChange,
)
from services.domain import (
    ReadReceipt,
    Typing,
    UnreadCountChanged,
    UserId,
    conversation_id,
    new_message_id,
    parse_conversation_id,
)
from services.message_codec import (
    LiveSignal,
    decode_event,
    decode_event_with_request_id,
    encode_event,
)
from tests.unit.support import ALICE, BASE, BOB, CAROL, make_message

AT = BASE + timedelta(milliseconds=456)
MESSAGE = make_message(BOB, ALICE, 7)
IDS = tuple(new_message_id(BASE + timedelta(milliseconds=i)) for i in range(3))
CONVERSATION = conversation_id(ALICE, BOB)

SIGNALS: dict[str, LiveSignal] = {
    "received": LiveChange(InboxChange(1, 1, MessageReceivedChange(MESSAGE.id)), MESSAGE),
    "read": LiveChange(InboxChange(2, 0, MessagesReadChange(IDS))),
    "markAllRead": LiveChange(InboxChange(3, 0, MessagesReadChange(all_before=AT))),
    "markConversationRead": LiveChange(
        InboxChange(4, 1, MessagesReadChange(all_before=AT, with_user_id=BOB))
    ),
    "unread": LiveChange(InboxChange(5, 2, MessagesUnreadChange(IDS[:2]))),
    "deleted": LiveChange(InboxChange(6, 1, MessageDeletedChange(IDS[0]))),
    "receipt": ReadReceipt(ALICE, CONVERSATION, IDS, IDS[-1], AT),
    "typing": Typing(BOB, CONVERSATION),
}


@pytest.mark.parametrize("signal", SIGNALS.values(), ids=SIGNALS.keys())
def test_signal_round_trip(signal: LiveSignal) -> None:
    payload = encode_event(signal, request_id="req-1")
    assert decode_event_with_request_id(payload) == (signal, "req-1")


def test_the_received_event_carries_the_message() -> None:
    data = orjson.loads(encode_event(SIGNALS["received"]))
    assert data["t"] == "ev"
    assert (data["ver"], data["n"], data["k"]) == (1, 1, "R")
    assert data["body"] == MESSAGE.body
    assert data["senderId"] == "bob"


def test_the_legacy_kinds_still_decode() -> None:
    # Workers that predate the change log still publish these; new processes read them.
    count = UnreadCountChanged(ALICE, 1, 2)
    assert decode_event(encode_event(count)) == count


def test_unknown_kinds_decode_to_none() -> None:
    # What a newer process publishes that this one does not know is dropped, not an error.
    assert decode_event(b'{"t": "presence", "u": "alice"}') is None


def test_a_received_change_needs_its_message() -> None:
    with pytest.raises(ValueError):
        LiveChange(InboxChange(1, 1, MessageReceivedChange(MESSAGE.id)))
    with pytest.raises(ValueError):
        LiveChange(InboxChange(1, 1, MessageDeletedChange(MESSAGE.id)), MESSAGE)
    with pytest.raises(ValueError):
        LiveChange(InboxChange(1, 1, MessageReceivedChange(IDS[0])), MESSAGE)


def _tampered(name: str, **changes: object) -> bytes:
    data = orjson.loads(encode_event(SIGNALS[name]))
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    return orjson.dumps(data)


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"[]",
        b'{"t": "ev"}',
        _tampered("read", k="X"),
        _tampered("read", ver=True),
        _tampered("read", n="3"),
        _tampered("read", ver=0),
        _tampered("read", ids=["not-an-id"]),
        _tampered("read", ids="01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        _tampered("read", ids=[]),
        _tampered("received", id="nope"),
        _tampered("received", body=None),
        _tampered("markConversationRead", w="a#b"),
        _tampered("markConversationRead", ab=None),
        _tampered("deleted", m=None),
        _tampered("receipt", conversationId="alice#bob"),
        _tampered("receipt", readAt="yesterday"),
        _tampered("typing", fromUserId=""),
    ],
)
def test_malformed_signals_decode_to_none(payload: bytes) -> None:
    assert decode_event(payload) is None


def test_conversation_id_is_shared_and_24_crockford_characters() -> None:
    assert conversation_id(ALICE, BOB) == conversation_id(BOB, ALICE)
    assert len(CONVERSATION) == 24
    assert parse_conversation_id(CONVERSATION) == CONVERSATION
    others = {conversation_id(ALICE, CAROL), conversation_id(BOB, CAROL), CONVERSATION}
    assert len(others) == 3
    # A note to self has its own id.
    assert conversation_id(ALICE, ALICE) not in others


def test_conversation_id_is_stable() -> None:
    # Ids are never stored but clients keep them: the hash must never change.
    assert conversation_id(ALICE, BOB) == "F43D2JWKXWXTM36SPF398GW0"


def test_the_pair_is_unambiguous() -> None:
    # Without a separator, ("ab", "c") and ("a", "bc") would hash the same text.
    assert conversation_id(UserId("ab"), UserId("c")) != conversation_id(UserId("a"), UserId("bc"))


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "F43D2JWKXWXTM36SPF398GW",
        "F43D2JWKXWXTM36SPF398GW00",
        "I43D2JWKXWXTM36SPF398GW0",
        "f43d2jwkxwxtm36spf398gw0",
    ],
)
def test_malformed_conversation_ids(raw: str) -> None:
    assert parse_conversation_id(raw) is None
