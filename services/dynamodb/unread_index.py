"""Keeping the `unread` index close to the unread entries. A horizon reads messages without
writing their entries, so their `unreadSk` stays and unread pages skip them; the first page
that skips many takes them out of the index, in one transaction that holds only if the user's
read state has not moved since they were found read (docs/conversations-design.md, section 2).
markUnread puts `unreadSk` back (read_marks.py), and a delivery sets it. Under retention the
clean is also what gives those messages their expiry (expiry_items.py): no read entry leaves
the index without one."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from services.domain import InboxEntry, UserId
from services.dynamodb.expiry_walk import expiring_items
from services.dynamodb.keys import counter_key, entry_key, n
from services.read_state import CounterState
from services.retention import Retention

log = logging.getLogger("inboxql.dynamodb")

# Skipping fewer costs less than the writes that would spare it.
SKIPPED_BEFORE_CLEANING = 20
# Each costs ~6 write units, once: the entry, its unread index row, its conversation row.
CLEANED_PER_PAGE = 25


async def forget_read_entries(
    client: Any,
    table: str,
    user_id: UserId,
    read: Sequence[InboxEntry],
    counter: CounterState,
    *,
    retention: Retention | None = None,
) -> None:
    """Best effort: a failure leaves the index as it was, which is still right."""
    if len(read) < SKIPPED_BEFORE_CLEANING or not counter.version:
        return
    if retention is not None:
        cleaned = list(read[:CLEANED_PER_PAGE])
        await _commit(client, expiring_items(table, user_id, counter, cleaned, retention), read)
        return
    items: list[dict[str, Any]] = [
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": counter_key(user_id),
                "ConditionExpression": "version = :read",
                "ExpressionAttributeValues": {":read": n(counter.version)},
            }
        }
    ]
    items += [
        {
            "Update": {
                "TableName": table,
                "Key": entry_key(user_id, entry.id),
                "UpdateExpression": "REMOVE unreadSk",
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        for entry in read[:CLEANED_PER_PAGE]
    ]
    await _commit(client, items, read)


async def _commit(client: Any, items: list[dict[str, Any]], read: Sequence[InboxEntry]) -> None:
    try:
        await client.transact_write_items(TransactItems=items)
    except ClientError as error:
        log.info("left %d read entries in the unread index: %s", len(read), error)
