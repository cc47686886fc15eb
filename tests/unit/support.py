"""Shared values and builders for the unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.delivery import deliver
from services.domain import InboxEntry, Message, MessageId, UserId, new_message_id
from tests.fakes import FakeEventHub, FakeMessageStore

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


async def seed(
    store: FakeMessageStore, hub: FakeEventHub, sender: UserId, recipient: UserId, count: int
) -> list[Message]:
    """`count` delivered messages, oldest first."""
    sent = [make_message(sender, recipient, n) for n in range(count)]
    for message in sent:
        await deliver(message, store, hub)
    return sent


def ids_of(entries: list[InboxEntry]) -> list[MessageId]:
    return [entry.id for entry in entries]
