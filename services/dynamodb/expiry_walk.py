"""The walk after a horizon, under retention: markAllRead and markConversationRead read their
messages without a write per message, so their expiry is set afterwards, a bounded step at a
time (services/read_expiry.py runs the steps).

With retention on, every write that finds an entry read also sets its expiry and takes it out
of the `unread` index (expiry_items.py), so the index holds exactly the unread entries and the
read ones still owed an expiry. A step reads one page of that index (newest first, below
`before`), the page's entries and their read inputs, and gives the read ones their expiry in
one transaction, conditioned on the counter's version as read first: a markUnread, delivery or
deletion since then cancels it, and the step reads again. Unread entries are passed over, so
the walk's cost follows the user's unread backlog and what the horizon read, never the
history. No Scan: a Query of one user's index partition. After a markConversationRead a step
reads that conversation's rows of the `conversation` index instead, newest first, and the walk
stops once it has given as many messages their expiry as the horizon read (read_expiry.py).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from services.domain import InboxEntry, MessageId, UserId
from services.dynamodb.expiry_items import expiry_writes
from services.dynamodb.keys import (
    CONVERSATION_INDEX,
    UNREAD_INDEX,
    Item,
    conversation_pk,
    counter_key,
    entry_key,
    n,
    s,
    user_pk,
)
from services.dynamodb.paging import batch_get, query_page
from services.dynamodb.read_inputs import read_counter_state, read_inputs
from services.dynamodb.transactions import (
    TRANSACTION_ATTEMPTS,
    TransactionConflict,
    conflict_pause,
    is_cancelled,
)
from services.read_state import CounterState
from services.retention import ExpiryStep, Retention

# Entries per step: two items each beside the counter's check fill one transaction (97).
WALK_PAGE = 48


def expiring_items(
    table: str, user_id: UserId, counter: CounterState, read: list[InboxEntry], retention: Retention
) -> list[Item]:
    """Read entries' expiry, both items each, held to the counter's version as read: the
    transaction of a step, and of a lazy clean under retention (unread_index.py)."""
    items: list[Item] = [
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": counter_key(user_id),
                "ConditionExpression": "version = :read",
                "ExpressionAttributeValues": {":read": n(counter.version)},
            }
        }
    ]
    for entry in read:
        if entry.read_at is None:
            raise ValueError(f"{entry.id} is unread, and unread messages never expire")
        expires_at = retention.expires_at(entry.sent_at, entry.read_at)
        items += expiry_writes(table, user_id, entry.id, expires_at)
    return items


async def expire_read_step(
    client: Any,
    table: str,
    user_id: UserId,
    retention: Retention,
    *,
    before: MessageId | None,
    limit: int = WALK_PAGE,
    with_user: UserId | None = None,
) -> ExpiryStep:
    """One step over the user's `unread` index, or (`with_user`) over that conversation's rows
    in the `conversation` index that are the user's and still in the `unread` index: after a
    markConversationRead, so that the other conversations' unread messages are not read."""
    if not 1 <= limit <= WALK_PAGE:
        raise ValueError(f"a step walks 1 to {WALK_PAGE} entries")
    for attempt in range(TRANSACTION_ATTEMPTS):
        counter = await read_counter_state(client, table, user_id)
        if not counter.version:
            return ExpiryStep(0, None)  # nothing was ever read
        if with_user is None:
            ids, next_before = await _unread_index_page(client, table, user_id, before, limit)
        else:
            ids, next_before = await _conversation_page(
                client, table, user_id, with_user, before=before, limit=limit
            )
        # Strongly consistent, after the counter: the index rows only say where to look.
        items = await batch_get(client, table, [entry_key(user_id, i) for i in ids])
        inputs, _ = await read_inputs(
            client, table, user_id, {i["senderId"]["S"] for i in items}, counter=counter
        )
        read = [e for e in map(inputs.entry, items) if e.is_read]
        if not read:
            return ExpiryStep(0, next_before)
        try:
            await client.transact_write_items(
                TransactItems=expiring_items(table, user_id, counter, read, retention)
            )
        except ClientError as error:
            if not is_cancelled(error):
                raise
            await conflict_pause(attempt)
            continue
        return ExpiryStep(len(read), next_before)
    raise TransactionConflict(f"giving {user_id}'s read messages their expiry kept conflicting")


async def _unread_index_page(
    client: Any, table: str, user_id: UserId, before: MessageId | None, limit: int
) -> tuple[list[MessageId], MessageId | None]:
    condition = "pk = :pk"
    values: Item = {":pk": s(user_pk(user_id))}
    if before is not None:
        condition += " AND unreadSk < :before"
        values[":before"] = s(before)
    keys, start = await query_page(
        client,
        table,
        None,
        IndexName=UNREAD_INDEX,
        KeyConditionExpression=condition,
        ExpressionAttributeValues=values,
        ConsistentRead=True,
        Limit=limit,
    )
    ids = [MessageId(key["unreadSk"]["S"]) for key in keys]
    return ids, ids[-1] if start is not None and ids else None


async def _conversation_page(
    client: Any,
    table: str,
    user_id: UserId,
    other_id: UserId,
    *,
    before: MessageId | None,
    limit: int,
) -> tuple[list[MessageId], MessageId | None]:
    """Up to `limit` rows of the conversation, newest first, and the user's among them that
    are still in the `unread` index (the index projects every attribute of an entry)."""
    condition = "convPk = :conv"
    values: Item = {":conv": s(conversation_pk(user_id, other_id)), ":me": s(user_id)}
    if before is not None:
        condition += " AND convSk < :before"
        values[":before"] = s(before)
    rows, start = await query_page(
        client,
        table,
        None,
        IndexName=CONVERSATION_INDEX,
        KeyConditionExpression=condition,
        FilterExpression="recipientId = :me AND attribute_exists(unreadSk)",
        ExpressionAttributeValues=values,
        Limit=limit,
    )
    ids = [MessageId(row["id"]["S"]) for row in rows]
    return ids, MessageId(start["convSk"]["S"]) if start is not None else None
