"""Retention: a read message expires through DynamoDB TTL once it is `days` old, and never
before it was read; an unread message never expires (docs/retention.md).

TTL deletes late (up to days), so an item past its `expiresAt` is absent to every read though
it is still stored, as the change log treats its own expired items. `expiresAt` is epoch
seconds, the table's one TTL attribute.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.domain import InboxEntry, MessageId, sent_at_of


@dataclass(frozen=True, slots=True)
class Retention:
    days: int

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError("a retention is at least one day")

    @classmethod
    def of(cls, days: int | None) -> Retention | None:
        """The setting's retention; None when it is off (keep forever)."""
        return None if days is None else cls(days)

    @property
    def period(self) -> timedelta:
        return timedelta(days=self.days)

    def expires_at(self, sent_at: datetime, read_at: datetime) -> int:
        """When a message read at `read_at` may go: `days` after it was sent, and not before
        it was read. Rounded up, so that TTL never deletes it a fraction early."""
        return math.ceil(max(sent_at + self.period, read_at).timestamp())

    def may_have_expired(self, message_id: MessageId, now: datetime) -> bool:
        """Whether the message is old enough to have expired, by its id alone: a younger one
        cannot have, read or not, so it needs no look at its item (or past a cache)."""
        return sent_at_of(message_id) + self.period <= now


@dataclass(frozen=True, slots=True)
class ExpiryStep:
    """What one step of the walk after a horizon did (`MessageStore.expire_read`): how many
    read messages it gave an expiry, and where the next step starts (None: the walk is done)."""

    expired: int
    next_before: MessageId | None


def earliest_expiry(entries: Iterable[InboxEntry], retention: Retention | None) -> int | None:
    """When the first of these entries expires (epoch seconds), or None if none can: only a
    read one can, and a read changes the inbox's version, which an answer kept for a version
    already outlives (schema/transport/response_cache.py)."""
    if retention is None:
        return None
    found = [retention.expires_at(e.sent_at, e.read_at) for e in entries if e.read_at]
    return min(found, default=None)


def is_expired(expires_at: int | None, now: datetime) -> bool:
    """Past its expiry: absent to every read, though TTL may not have deleted it yet."""
    return expires_at is not None and expires_at <= now.timestamp()
