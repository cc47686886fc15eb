"""What the store's write transactions hold, and how DynamoDB says it cancelled one.

Every transaction that changes a user's inbox writes the counter at the next version, on the
condition that it is still at the version read, and puts that version's logged change beside
it: so versions step by exactly 1, every version has its change, and the log and the counts
cannot disagree. A delivery is one transaction: the message, the recipient's inbox entry, the
counter and the change. A markRead is one per chunk of entries, each flipped only while still
unread. The conditions are what keep the counter exact under redelivery and concurrency
(services/dynamodb/store.py retries and reads the outcome)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import datetime

from botocore.exceptions import ClientError

from services.change_log import InboxChange, MessageReceivedChange, MessagesReadChange
from services.domain import InboxEntry, Message, UnreadCount, UserId, format_timestamp
from services.dynamodb.change_items import change_item
from services.dynamodb.keys import (
    Item,
    counter_key,
    entry_item,
    entry_key,
    message_item,
    n,
    s,
)

# Changes to one user serialise on its counter's version, so under a flood of messages to one
# inbox most attempts lose to another writer and read again: many quick attempts with a short
# capped pause (`conflict_pause`), rather than few long ones. 32 bounds a change to ~2 s.
TRANSACTION_ATTEMPTS = 32
_FIRST_PAUSE_SECONDS = 0.005
_MAX_PAUSE_SECONDS = 0.1
# A transaction holds at most 100 items: these entries, the counter and the logged change.
ENTRIES_PER_TRANSACTION = 98
# The positions of a delivery's items, as its cancellation reasons list them.
DELIVERY_MESSAGE, DELIVERY_ENTRY = 0, 1


async def conflict_pause(attempt: int) -> None:
    """Full jitter, capped: contenders spread out instead of colliding again in step."""
    ceiling = min(_MAX_PAUSE_SECONDS, _FIRST_PAUSE_SECONDS * 2**attempt)
    await asyncio.sleep(random.uniform(0, ceiling))


class TransactionConflict(Exception):
    """Conflicting transactions kept cancelling this one; the caller retries later."""


def cancellation_codes(error: ClientError) -> list[str]:
    reasons = error.response.get("CancellationReasons") or []
    return [reason.get("Code", "None") for reason in reasons]


def is_cancelled(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "TransactionCanceledException"


def counter_update(table: str, user_id: UserId, before: UnreadCount, after: UnreadCount) -> Item:
    """The counter moved from `before` to `after`, only if nobody moved it since it was read:
    concurrent changes to one user serialise here, and the loser re-reads and retries."""
    update: Item = {
        "TableName": table,
        "Key": counter_key(user_id),
        "UpdateExpression": "SET unread = :unread, version = :version",
        "ExpressionAttributeValues": {":unread": n(after.count), ":version": n(after.version)},
    }
    if before.version:
        update["ConditionExpression"] = "version = :read"
        update["ExpressionAttributeValues"][":read"] = n(before.version)
    else:
        update["ConditionExpression"] = "attribute_not_exists(pk)"
    return {"Update": update}


def change_put(table: str, user_id: UserId, change: InboxChange, at: datetime) -> Item:
    return {
        "Put": {
            "TableName": table,
            "Item": change_item(user_id, change, at),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def delivery_items(
    table: str, message: Message, counter: UnreadCount, at: datetime
) -> tuple[list[Item], InboxChange]:
    """The delivery of `message` to a recipient whose counter was read as `counter`."""
    not_there = "attribute_not_exists(pk)"
    change = InboxChange(counter.version + 1, counter.count + 1, MessageReceivedChange(message.id))
    entry = entry_item(message) | {"v": n(change.version)}
    items: list[Item] = [
        {
            "Put": {
                "TableName": table,
                "Item": message_item(message),
                "ConditionExpression": not_there,
            }
        },
        {"Put": {"TableName": table, "Item": entry, "ConditionExpression": not_there}},
        counter_update(
            table, message.recipient_id, counter, UnreadCount(change.count, change.version)
        ),
        change_put(table, message.recipient_id, change, at),
    ]
    return items, change


def mark_read_items(
    table: str,
    user_id: UserId,
    entries: Sequence[InboxEntry],
    read_at: datetime,
    *,
    counter: UnreadCount,
    at: datetime,
) -> tuple[list[Item], InboxChange]:
    """`entries` flipped read, for a user whose counter was read as `counter`."""
    change = InboxChange(
        counter.version + 1,
        counter.count - len(entries),
        MessagesReadChange(tuple(entry.id for entry in entries)),
    )
    items: list[Item] = [
        {
            "Update": {
                "TableName": table,
                "Key": entry_key(user_id, entry.id),
                "UpdateExpression": "SET isRead = :true, readAt = :at REMOVE unreadSk",
                "ConditionExpression": "attribute_exists(pk) AND isRead = :false",
                "ExpressionAttributeValues": {
                    ":true": {"BOOL": True},
                    ":false": {"BOOL": False},
                    ":at": s(format_timestamp(read_at)),
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        for entry in entries
    ]
    items.append(counter_update(table, user_id, counter, UnreadCount(change.count, change.version)))
    items.append(change_put(table, user_id, change, at))
    return items, change
