"""What the store's write transactions hold, and how DynamoDB says it cancelled one.

A delivery is one transaction: the message, the recipient's inbox entry, and the counter. A
markRead is one per chunk of entries, each flipped only while still unread, with the counter
lowered by exactly the chunk's size. The conditions are what keep the counter exact under
redelivery and concurrency (services/dynamodb/store.py retries and reads the outcome)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from botocore.exceptions import ClientError

from services.domain import InboxEntry, Message, UserId, format_timestamp
from services.dynamodb.keys import (
    Item,
    counter_key,
    entry_item,
    entry_key,
    message_item,
    n,
    s,
)

TRANSACTION_ATTEMPTS = 8
# A transaction holds at most 100 items: these entries plus the counter.
ENTRIES_PER_TRANSACTION = 99


class TransactionConflict(Exception):
    """Conflicting transactions kept cancelling this one; the caller retries later."""


def cancellation_codes(error: ClientError) -> list[str]:
    reasons = error.response.get("CancellationReasons") or []
    return [reason.get("Code", "None") for reason in reasons]


def is_cancelled(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "TransactionCanceledException"


def delivery_items(table: str, message: Message) -> list[Item]:
    not_there = "attribute_not_exists(pk)"
    return [
        {
            "Put": {
                "TableName": table,
                "Item": message_item(message),
                "ConditionExpression": not_there,
            }
        },
        {
            "Put": {
                "TableName": table,
                "Item": entry_item(message),
                "ConditionExpression": not_there,
            }
        },
        {
            "Update": {
                "TableName": table,
                "Key": counter_key(message.recipient_id),
                "UpdateExpression": "ADD unread :one, version :one",
                "ExpressionAttributeValues": {":one": n(1)},
            }
        },
    ]


def mark_read_items(
    table: str, user_id: UserId, entries: Sequence[InboxEntry], read_at: datetime
) -> list[Item]:
    updates: list[Item] = [
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
    updates.append(
        {
            "Update": {
                "TableName": table,
                "Key": counter_key(user_id),
                "UpdateExpression": "ADD unread :minus, version :one",
                "ExpressionAttributeValues": {":minus": n(-len(entries)), ":one": n(1)},
            }
        }
    )
    return updates
