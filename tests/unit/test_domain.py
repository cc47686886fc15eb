"""Identifiers and input rules of the domain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ulid import ULID

from services.domain import (
    MAX_BODY_CHARS,
    InboxEntry,
    check_page_size,
    id_upper_bound,
    is_user_id,
    new_message_id,
    normalize_body,
    parse_client_message_id,
    parse_message_id,
    parse_user_id,
)
from services.errors import BadUserInput
from tests.unit.support import ALICE, BASE, BOB, make_message


@pytest.mark.parametrize(
    "raw", ["a", "Alice", "0", "a" * 128, "user.name", "a@b.c", "urn:x:y", "a+b", "a-b", "a_b"]
)
def test_valid_user_ids(raw: str) -> None:
    assert is_user_id(raw)
    assert parse_user_id(raw, "recipientId") == raw


@pytest.mark.parametrize(
    "raw",
    ["", "a#b", "a|b", "a" * 129, ".a", "-a", "a b", "a\n", "\u00e9", "a/b", "USER#x"],
)
def test_invalid_user_ids(raw: str) -> None:
    assert not is_user_id(raw)
    with pytest.raises(BadUserInput, match="someField"):
        parse_user_id(raw, "someField")


def test_message_ids_parse() -> None:
    message_id = new_message_id(BASE)
    assert parse_message_id(message_id) == message_id
    assert parse_message_id(str(ULID.from_bytes(b"\xff" * 16))) is not None


@pytest.mark.parametrize(
    "raw", ["", "x", "0" * 25, "0" * 27, "8" + "0" * 25, "0" * 25 + "I", "0" * 25 + "U"]
)
def test_malformed_message_ids(raw: str) -> None:
    assert parse_message_id(raw) is None


def test_new_message_ids_encode_the_time() -> None:
    at = BASE + timedelta(milliseconds=123)
    message_id = new_message_id(at)
    assert ULID.from_str(message_id).datetime == at
    assert new_message_id(at) != message_id  # random part


def test_id_upper_bound() -> None:
    at = BASE + timedelta(milliseconds=500)
    bound = id_upper_bound(at)
    assert parse_message_id(bound) == bound
    same_ms = [new_message_id(at) for _ in range(100)]
    assert all(i <= bound for i in same_ms)
    assert new_message_id(at + timedelta(milliseconds=1)) > bound
    assert new_message_id(at - timedelta(milliseconds=1)) < bound
    # Sub-millisecond parts of `at` do not matter.
    assert id_upper_bound(at + timedelta(microseconds=999)) == bound


@pytest.mark.parametrize(
    ("raw", "body"),
    [("hi", "hi"), ("  hi  ", "hi"), ("\n\ta b\n", "a b"), ("x" * MAX_BODY_CHARS, "x" * 5000)],
)
def test_normalize_body(raw: str, body: str) -> None:
    assert normalize_body(raw) == body


@pytest.mark.parametrize("raw", ["", "   ", "\n", "x" * 5001, "\u00e9" * 5001])
def test_normalize_body_rejects(raw: str) -> None:
    with pytest.raises(BadUserInput):
        normalize_body(raw)


def test_body_length_counts_characters_not_bytes() -> None:
    assert normalize_body("\u00e9" * 5000) == "\u00e9" * 5000


@pytest.mark.parametrize("raw", [None, "k", "k" * 128, "client-1 with spaces", "\u00e9\u2603"])
def test_client_message_ids(raw: str | None) -> None:
    assert parse_client_message_id(raw) == raw


@pytest.mark.parametrize("raw", ["", "k" * 129, "a\nb", "\x00", "\t", "\x7f"])
def test_bad_client_message_ids(raw: str) -> None:
    with pytest.raises(BadUserInput, match="clientMessageId"):
        parse_client_message_id(raw)


@pytest.mark.parametrize("first", [1, 50, 100])
def test_page_sizes(first: int) -> None:
    assert check_page_size(first) == first


@pytest.mark.parametrize("first", [0, -5, 101])
def test_bad_page_sizes(first: int) -> None:
    with pytest.raises(BadUserInput, match="first"):
        check_page_size(first)


def test_inbox_entry_of_a_message() -> None:
    message = make_message(BOB, ALICE, 1)
    entry = InboxEntry.unread(message)
    assert (entry.id, entry.sender_id, entry.recipient_id, entry.sent_at) == (
        message.id,
        BOB,
        ALICE,
        message.sent_at,
    )
    assert not entry.is_read
    assert InboxEntry(entry.id, BOB, ALICE, entry.sent_at, BASE).is_read
