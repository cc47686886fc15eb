"""Reading a page of the conversation list from the `activity` index.

The index is eventually consistent, like any GSI: while a summary moves, a Query may briefly
see it at its old and its new place, so a page is de-duplicated by the other user and reads
two rows more than it returns."""

from __future__ import annotations

from typing import Any

from services.domain import MessageId, UserId
from services.dynamodb.keys import ACTIVITY_INDEX, Item, s, user_pk
from services.dynamodb.paging import query_page
from services.dynamodb.read_state_items import decode_summary
from services.read_state import ConversationPage, ConversationSummary

# Rows read beyond the page: room for a duplicate, and the one that tells a next page exists.
_SPARE_ROWS = 2


async def list_conversations(
    client: Any, table: str, user_id: UserId, *, limit: int, before: MessageId | None
) -> ConversationPage:
    condition = "pk = :pk"
    values: Item = {":pk": s(user_pk(user_id))}
    if before is not None:
        condition += " AND act < :before"
        values[":before"] = s(before)
    rows: dict[UserId, ConversationSummary] = {}
    start: Item | None = None
    while True:
        items, start = await query_page(
            client,
            table,
            start,
            IndexName=ACTIVITY_INDEX,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=values,
            Limit=limit + _SPARE_ROWS - len(rows),
        )
        for item in items:
            summary = decode_summary(item)
            # Newest first, so the first row seen of a conversation is its current place.
            rows.setdefault(summary.other_id, summary)
        if len(rows) > limit or start is None:
            return ConversationPage(list(rows.values())[:limit], len(rows) > limit)
