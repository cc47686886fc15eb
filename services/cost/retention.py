"""What the table stores: a message's items for as long as they are kept.

Without a retention, every message since the service started stays (`history_days` of them).
With a retention of N days, a read message older than N days expires through DynamoDB's TTL:
its message item, inbox entry and conversation-index row go, and TTL deletes cost no write
units. An unread message never expires, so unread counts and conversation summaries stay
exact: the messages older than N days that stay are the ones never read. The retention's own
writes (setting the expiry) are assumed to ride on writes the service makes anyway; if the
service's design adds some, `bench.capacity` measures them and they belong in the profile.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.cost.assumptions import UsageProfile
from services.cost.profile import Measurements


@dataclass(frozen=True)
class StoredMessages:
    """Messages one user's inbox holds, and their bytes."""

    within_retention: float  # every message of the last N days (or of the whole history)
    unread_past_retention: float  # older messages never read: they do not expire
    bytes: float


def stored_messages(
    usage: UsageProfile, m: Measurements, retention_days: float | None
) -> StoredMessages:
    """One user's stored messages after `usage.history_days`, keeping read ones
    `retention_days` (None: all of them)."""
    if retention_days is not None and retention_days < 0:
        raise ValueError("retention_days must be >= 0")
    kept_days = usage.history_days
    if retention_days is not None:
        kept_days = min(retention_days, usage.history_days)
    recent = usage.sends_per_day * kept_days
    older = usage.sends_per_day * (usage.history_days - kept_days) * (1 - usage.read_share)
    item = m.storage_bytes_per_message_excluding_body + usage.average_body_chars
    # An unread message keeps its entry in the `unread` index too.
    recent_bytes = recent * (item + usage.unread_share * m.lsi_bytes_per_unread_message)
    older_bytes = older * (item + m.lsi_bytes_per_unread_message)
    return StoredMessages(recent, older, recent_bytes + older_bytes)
