"""The store's listings: a user's inbox (all of it, or its unread entries through the `unread`
index), the conversation between two users (the `conversation` index), and the unread ids
markAllRead works through. Newest first, each a Query paged until it has enough."""

from __future__ import annotations

from typing import Any

from services.domain import MessageId, Page, UserId
from services.dynamodb.keys import (
    CONVERSATION_INDEX,
    ENTRY_PREFIX,
    UNREAD_INDEX,
    Item,
    conversation_pk,
    decode_entry,
    entry_key,
    s,
    user_pk,
)
from services.dynamodb.paging import batch_get, query_newest


async def list_inbox(
    client: Any,
    table: str,
    user_id: UserId,
    *,
    limit: int,
    before: MessageId | None,
    unread_only: bool,
) -> Page:
    values: Item = {":pk": s(user_pk(user_id))}
    if unread_only:
        # The index holds keys only; the entries themselves come from one batch read.
        condition = "pk = :pk"
        if before is not None:
            condition += " AND unreadSk < :before"
            values[":before"] = s(before)
        keys, more = await query_newest(
            client,
            table,
            limit,
            IndexName=UNREAD_INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            ConsistentRead=True,
        )
        ids = [MessageId(key["unreadSk"]["S"]) for key in keys]
        entries = {
            entry.id: entry
            for entry in map(
                decode_entry, await batch_get(client, table, [entry_key(user_id, i) for i in ids])
            )
        }
        return Page([entries[i] for i in ids if i in entries], more)
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
    )
    return Page([decode_entry(item) for item in items], more)


async def list_conversation(
    client: Any,
    table: str,
    user_id: UserId,
    other_id: UserId,
    *,
    limit: int,
    before: MessageId | None,
) -> Page:
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
    )
    return Page([decode_entry(item) for item in items], more)


async def unread_ids(
    client: Any, table: str, user_id: UserId, *, up_to: MessageId, limit: int
) -> list[MessageId]:
    keys, _ = await query_newest(
        client,
        table,
        limit,
        IndexName=UNREAD_INDEX,
        KeyConditionExpression="pk = :pk AND unreadSk <= :up_to",
        ExpressionAttributeValues={":pk": s(user_pk(user_id)), ":up_to": s(up_to)},
        ConsistentRead=True,
    )
    return [MessageId(key["unreadSk"]["S"]) for key in keys]
