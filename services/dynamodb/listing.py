"""The store's listings: a user's inbox (all of it, or its unread entries through the `unread`
index), and the conversation between two users (the `conversation` index). Newest first, each
a Query paged until it has enough, every entry with its derived read state (read_inputs.py).

The `unread` index holds a superset of the unread entries: a horizon (markConversationRead,
markAllRead) reads messages without touching their entries, so an unread page reads entries
from the counter's `floor` up and keeps those that derive as unread. A page that had to skip
many read entries takes them out of the index, once, so the next reader does not skip them
again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.domain import InboxEntry, MessageId, Page, UserId
from services.dynamodb.expiry_items import is_live
from services.dynamodb.keys import (
    CONVERSATION_INDEX,
    ENTRY_PREFIX,
    UNREAD_INDEX,
    Item,
    conversation_pk,
    entry_key,
    s,
    user_pk,
)
from services.dynamodb.paging import batch_get, query_newest, query_page
from services.dynamodb.read_inputs import ReadInputs, derived_entries, read_counter_state
from services.dynamodb.unread_index import forget_read_entries
from services.read_state import CounterState
from services.retention import Retention

# Rows of the unread index read per Query while looking for unread entries among read ones.
_UNREAD_BATCH = 50
# Rows of a conversation read per Query while looking for the ones a horizon flips.
_CONVERSATION_BATCH = 100
# How far markConversationRead looks for what it flipped: its answer lists "at most" the
# newest, and a conversation read message by message for years must not make it slow.
_CONVERSATION_BATCHES = 5


async def list_inbox(
    client: Any,
    table: str,
    user_id: UserId,
    *,
    limit: int,
    before: MessageId | None,
    unread_only: bool,
    now: datetime,
    retention: Retention | None = None,
) -> Page:
    """Past its expiry an entry is left out, though TTL has not deleted it yet."""
    if unread_only:
        counter = await read_counter_state(client, table, user_id)
        return await list_unread(
            client, table, user_id, counter, limit=limit, before=before, retention=retention
        )
    values: Item = {":pk": s(user_pk(user_id))}
    # The counter item shares the partition, so the range is bounded on both sides.
    values[":low"] = s(ENTRY_PREFIX)
    if before is None:
        condition = "pk = :pk AND begins_with(sk, :low)"
    else:
        condition = "pk = :pk AND sk BETWEEN :low AND :before"
        values[":before"] = s(ENTRY_PREFIX + before)
    items, more = await query_newest(
        client,
        table,
        limit,
        KeyConditionExpression=condition,
        ExpressionAttributeValues=values,
        ConsistentRead=True,
        skip_id=before,
        keep=lambda item: is_live(item, now),
    )
    return Page(await derived_entries(client, table, items), more)


async def list_unread(
    client: Any,
    table: str,
    user_id: UserId,
    counter: CounterState,
    *,
    limit: int,
    before: MessageId | None,
    retention: Retention | None = None,
) -> Page:
    """The user's unread entries older than `before`, newest first, as of `counter` (read
    before this). Unread entries never expire; read ones it skips may be cleaned out of the
    index, with their expiry under `retention`."""
    condition = "pk = :pk"
    values: Item = {":pk": s(user_pk(user_id))}
    if counter.floor is not None and before is not None and before < counter.floor:
        # Nothing below the floor is unread (and BETWEEN refuses a reversed range).
        return Page([], False)
    if counter.floor is not None and before is not None:
        condition += " AND unreadSk BETWEEN :floor AND :before"
        values |= {":floor": s(counter.floor), ":before": s(before)}
    elif counter.floor is not None:
        condition += " AND unreadSk >= :floor"
        values[":floor"] = s(counter.floor)
    elif before is not None:
        condition += " AND unreadSk < :before"
        values[":before"] = s(before)
    found: list[InboxEntry] = []
    skipped: list[InboxEntry] = []
    start: Item | None = None
    while True:
        keys, start = await query_page(
            client,
            table,
            start,
            IndexName=UNREAD_INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ConsistentRead=True,
            # Most unread pages hold no read entry: the first Query asks for just the page
            # (and one more, or the cursor's own row); later ones for more at once.
            Limit=limit + 2 if start is None else max(limit + 2 - len(found), _UNREAD_BATCH),
        )
        ids = [MessageId(key["unreadSk"]["S"]) for key in keys]
        ids = [i for i in ids if i != before]
        items = await batch_get(client, table, [entry_key(user_id, i) for i in ids])
        by_id = {item["id"]["S"]: item for item in items}
        in_order = [by_id[i] for i in ids if i in by_id]
        for entry in await derived_entries(client, table, in_order):
            if entry.is_read:
                skipped.append(entry)
            else:
                found.append(entry)
        if len(found) > limit or start is None:
            break
    await forget_read_entries(client, table, user_id, skipped, counter, retention=retention)
    return Page(found[:limit], len(found) > limit)


async def unread_in_conversation(
    client: Any, table: str, user_id: UserId, other_id: UserId, inputs: ReadInputs, *, limit: int
) -> list[InboxEntry]:
    """Up to `limit` of the newest messages the user received from `other_id` that are unread
    as of `inputs`. The index lags its table by a moment, so one just delivered may be
    missing: a horizon lists "at most" what it flipped."""
    found: list[InboxEntry] = []
    start: Item | None = None
    for _ in range(_CONVERSATION_BATCHES):
        items, start = await query_page(
            client,
            table,
            start,
            IndexName=CONVERSATION_INDEX,
            KeyConditionExpression="convPk = :conv",
            ExpressionAttributeValues={":conv": s(conversation_pk(user_id, other_id))},
            Limit=_CONVERSATION_BATCH,
        )
        for item in items:
            if item["recipientId"]["S"] == user_id:
                entry = inputs.entry(item)
                if not entry.is_read:
                    found.append(entry)
        if len(found) >= limit or start is None:
            break
    return found[:limit]


async def list_conversation(
    client: Any,
    table: str,
    user_id: UserId,
    other_id: UserId,
    *,
    limit: int,
    before: MessageId | None,
    now: datetime,
) -> Page:
    """Both users' entries (the index projects all of an entry), expired ones left out."""
    condition = "convPk = :conv"
    values: Item = {":conv": s(conversation_pk(user_id, other_id))}
    if before is not None:
        condition += " AND convSk < :before"
        values[":before"] = s(before)
    items, more = await query_newest(
        client,
        table,
        limit,
        IndexName=CONVERSATION_INDEX,
        KeyConditionExpression=condition,
        ExpressionAttributeValues=values,
        keep=lambda item: is_live(item, now),
    )
    return Page(await derived_entries(client, table, items), more)
