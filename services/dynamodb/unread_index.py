"""Keeping the `unread` index close to the unread entries. A horizon reads messages without
writing their entries, so their `unreadSk` stays and unread pages skip them; the first page
that skips many takes them out of the index, in one transaction that holds only if the user's
read state has not moved since they were found read (docs/conversations-design.md, section 2).
markUnread puts `unreadSk` back (read_marks.py), and a delivery sets it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from services.domain import MessageId, UserId
from services.dynamodb.keys import counter_key, entry_key, n
from services.read_state import CounterState

log = logging.getLogger("inboxql.dynamodb")

# Skipping fewer costs less than the writes that would spare it.
SKIPPED_BEFORE_CLEANING = 20
# Each costs ~6 write units, once: the entry, its unread index row, its conversation row.
CLEANED_PER_PAGE = 25


async def forget_read_entries(
    client: Any, table: str, user_id: UserId, read: Sequence[MessageId], counter: CounterState
) -> None:
    """Best effort: a failure leaves the index as it was, which is still right."""
    if len(read) < SKIPPED_BEFORE_CLEANING or not counter.version:
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
                "Key": entry_key(user_id, message_id),
                "UpdateExpression": "REMOVE unreadSk",
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        for message_id in read[:CLEANED_PER_PAGE]
    ]
    try:
        await client.transact_write_items(TransactItems=items)
    except ClientError as error:
        log.info("left %d read entries in the unread index: %s", len(read), error)
