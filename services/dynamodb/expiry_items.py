"""Retention's attributes (services/retention.py): `expiresAt`, the table's TTL attribute, on a
read message's inbox entry and on its message item, the two that hold it (the body lives in
the message item).

Both are written together, in the transaction that decides the message is read, so the two
never disagree: markRead, the walk after a horizon (expiry_walk.py) and the unread index's lazy
clean. The entry leaves the `unread` index in the same write: with retention on, a read entry
that still has `unreadSk` is one whose expiry is still to be set, which is what the walk reads.
markUnread REMOVEs `expiresAt` from both, in its own transaction.
"""

from __future__ import annotations

from datetime import datetime

from services.domain import MessageId, UserId
from services.dynamodb.keys import Item, entry_key, message_key, n
from services.retention import is_expired

EXPIRES_AT = "expiresAt"


def item_expiry(item: Item) -> int | None:
    found = item.get(EXPIRES_AT)
    return int(found["N"]) if found else None


def is_live(item: Item, now: datetime) -> bool:
    """An entry or message item not past its expiry (TTL may not have deleted it yet)."""
    return not is_expired(item_expiry(item), now)


def message_expiry_write(table: str, message_id: MessageId, expires_at: int | None) -> Item:
    """The message item's share: `expiresAt` set, or (None) removed."""
    update: Item = {
        "TableName": table,
        "Key": message_key(message_id),
        # The message item outlives its entry (a tombstone, the sender's view): never create
        # one that is gone.
        "ConditionExpression": "attribute_exists(pk)",
    }
    if expires_at is None:
        update["UpdateExpression"] = "REMOVE expiresAt"
    else:
        update["UpdateExpression"] = "SET expiresAt = :expires"
        update["ExpressionAttributeValues"] = {":expires": n(expires_at)}
    return {"Update": update}


def expiry_writes(
    table: str, user_id: UserId, message_id: MessageId, expires_at: int
) -> list[Item]:
    """A read message's entry and message item, both expiring at `expires_at`; the entry
    leaves the `unread` index, as a lazy clean would take it out."""
    entry = {
        "Update": {
            "TableName": table,
            "Key": entry_key(user_id, message_id),
            "UpdateExpression": "SET expiresAt = :expires REMOVE unreadSk",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":expires": n(expires_at)},
        }
    }
    return [entry, message_expiry_write(table, message_id, expires_at)]
