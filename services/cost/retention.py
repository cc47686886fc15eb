"""What the table stores: a message's items for as long as they are kept.

Without a retention, every message since the service started stays (`history_days` of them).
With a retention of N days, a read message older than N days expires through DynamoDB's TTL:
its message item, inbox entry and conversation-index row go, and TTL deletes cost no write
units. An unread message never expires, so unread counts and conversation summaries stay
exact: the messages older than N days that stay are the ones never read. Setting a read
message's expiry is not free (`expiry_units`): it writes both of its items, so a retention
trades write units for storage, and pays off only once enough history would have been stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.cost.assumptions import Assumptions, UsageProfile
from services.cost.profile import Measurements, OperationCost


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


def expiry_units(usage: UsageProfile, a: Assumptions) -> OperationCost:
    """One user's units a day for setting read messages' expiry: every message read gets it
    (markRead in its transaction; the rest, read by a horizon, from the walk after it)."""
    if a.retention_days is None:
        return OperationCost()
    read = usage.sends_per_day * usage.read_share
    by_horizon = max(0.0, read - usage.mark_reads_per_day)
    return OperationCost(
        read_units=by_horizon * a.retention_read_units_per_horizon_message,
        write_units=read * a.retention_write_units_per_read_message,
    )
