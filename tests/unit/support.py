"""Shared values and builders for the unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.domain import Message, UserId, new_message_id

BASE = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ALICE = UserId("alice")
BOB = UserId("bob")
CAROL = UserId("carol")


def make_message(
    sender: UserId, recipient: UserId, n: int, body: str = "hello", *, base: datetime = BASE
) -> Message:
    """A message sent `n` milliseconds after `base`: higher n, newer id."""
    at = base + timedelta(milliseconds=n)
    return Message(new_message_id(at), sender, recipient, f"{body} {n}", at)
