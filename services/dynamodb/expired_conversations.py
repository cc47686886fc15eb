"""The conversation list under retention: a summary keeps its conversation's newest message,
which may have expired (read, and older than the retention). TTL writes no summary, so the list
looks past it when it shows it: the conversation's newest message still live becomes its
`lastMessage`, and a conversation with none left leaves the list. Where the list keeps it (its
`act`, the page's cursor) does not move, so paging neither repeats nor skips.

Only a summary whose newest message is old enough to have expired is looked at: one Query of
the `conversation` index, newest first, from that message down. Unread messages never expire,
so a conversation with unread ones always has one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from services.domain import MessageId, UserId
from services.dynamodb.conversation_reads import list_conversations
from services.dynamodb.expiry_items import is_live
from services.dynamodb.keys import CONVERSATION_INDEX, Item, conversation_pk, s
from services.dynamodb.paging import query_page
from services.read_state import ConversationPage, ConversationSummary
from services.retention import Retention

# Rows read per Query while looking for the newest live message: the first asks for a few
# (the newest message is usually live: old, but read lately or unread), later ones for more.
_FIRST_ROWS = 10
_MORE_ROWS = 100
# A conversation whose newest live message lies deeper than this (expired rows TTL has not
# deleted yet) reads as having none: the bound keeps a page from reading a whole history.
_QUERIES = 5


async def newest_live(
    client: Any, table: str, user_id: UserId, other_id: UserId, *, at_most: MessageId, now: datetime
) -> Item | None:
    """The conversation's newest entry at or below `at_most` that has not expired."""
    start: Item | None = None
    for query in range(_QUERIES):
        rows, start = await query_page(
            client,
            table,
            start,
            IndexName=CONVERSATION_INDEX,
            KeyConditionExpression="convPk = :conv AND convSk <= :last",
            ExpressionAttributeValues={
                ":conv": s(conversation_pk(user_id, other_id)),
                ":last": s(at_most),
            },
            Limit=_FIRST_ROWS if query == 0 else _MORE_ROWS,
        )
        found = next((row for row in rows if is_live(row, now)), None)
        if found is not None or start is None:
            return found
    return None


async def live_conversations(
    client: Any,
    table: str,
    user_id: UserId,
    retention: Retention | None,
    *,
    limit: int,
    before: MessageId | None,
    now: datetime,
) -> ConversationPage:
    """A page of `limit` conversations with a live newest message, newest activity first.
    `ConversationPage.positions` keeps the `act` of each whose shown message moved. Without
    retention, the index's page as it is."""
    if retention is None:
        return await list_conversations(client, table, user_id, limit=limit, before=before)
    kept: dict[UserId, ConversationSummary] = {}
    positions: dict[UserId, MessageId] = {}
    while True:
        page = await list_conversations(
            client, table, user_id, limit=limit - len(kept), before=before
        )
        for summary in page.summaries:
            last = summary.last_message_id
            if last is None or summary.other_id in kept:
                continue
            if not retention.may_have_expired(last, now):
                kept[summary.other_id] = summary
                continue
            row = await newest_live(client, table, user_id, summary.other_id, at_most=last, now=now)
            if row is None:
                continue  # nothing left to show: the conversation leaves the list
            shown = MessageId(row["id"]["S"])
            kept[summary.other_id] = replace(
                summary,
                last_message_id=shown,
                last_sent_by_owner=row["senderId"]["S"] == user_id,
            )
            if shown != last:
                positions[summary.other_id] = last
        if len(kept) >= limit or not page.has_next_page or not page.summaries:
            return ConversationPage(list(kept.values()), page.has_next_page, positions)
        before = page.summaries[-1].last_message_id
