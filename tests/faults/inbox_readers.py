"""Reading a whole inbox for `tests.faults.checker`: through the GraphQL API (what clients see)
or straight from the store (when no API process runs). Call them once the system is quiet."""

from __future__ import annotations

from typing import Any

import httpx

from services.change_log import (
    InboxChange,
    MessageDeletedChange,
    MessageReceivedChange,
    MessagesReadChange,
    MessagesUnreadChange,
)
from services.domain import UserId, utc_now
from services.ports import MessageStore
from tests.faults.checker import Inbox, Seen
from tests.faults.log_replay import Logged

PAGE_SIZE = 100
INBOX_PAGE = (
    "query($after: String) { unreadCount messages(first: 100, after: $after) "
    "{ edges { node { id senderId recipientId body isRead } } "
    "pageInfo { hasNextPage endCursor } } }"
)
CONVERSATIONS_PAGE = (
    "query($after: String) { conversations(first: 100, after: $after) "
    "{ edges { node { withUserId unreadCount } } pageInfo { hasNextPage endCursor } } }"
)


async def _post(http: httpx.AsyncClient, token: str, query: str, after: str | None) -> Any:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": {"after": after}},
        headers={"Authorization": f"Bearer {token}"},
    )
    body: dict[str, Any] = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


async def read_conversations_graphql(http: httpx.AsyncClient, token: str) -> dict[str, int]:
    """The conversation list's unreadCount per other user, every page."""
    counts: dict[str, int] = {}
    after: str | None = None
    while True:
        page = (await _post(http, token, CONVERSATIONS_PAGE, after))["conversations"]
        for edge in page["edges"]:
            other = edge["node"]["withUserId"]
            assert other not in counts, f"{other} listed twice"
            counts[other] = edge["node"]["unreadCount"]
        if not page["pageInfo"]["hasNextPage"]:
            return counts
        after = page["pageInfo"]["endCursor"]


async def read_conversations_store(store: MessageStore, user: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    before = None
    while True:
        page = await store.list_conversations(UserId(user), limit=PAGE_SIZE, before=before)
        for summary in page.summaries:
            assert summary.other_id not in counts, f"{summary.other_id} listed twice"
            counts[summary.other_id] = summary.unread
        if not page.has_next_page or not page.summaries:
            return counts
        before = page.summaries[-1].last_message_id


async def read_inbox_graphql(http: httpx.AsyncClient, user: str, token: str) -> Inbox:
    """Every entry, 100 a page, through POST /graphql; the count read with the first page;
    then the conversation list."""
    entries: list[Seen] = []
    after: str | None = None
    count: int | None = None
    while True:
        data = await _post(http, token, INBOX_PAGE, after)
        count = data["unreadCount"] if count is None else count
        page = data["messages"]
        entries += [
            Seen(node["id"], node["recipientId"], node["body"], node["isRead"], node["senderId"])
            for node in (edge["node"] for edge in page["edges"])
        ]
        if not page["pageInfo"]["hasNextPage"]:
            conversations = await read_conversations_graphql(http, token)
            return Inbox(user, count, tuple(entries), conversations=conversations)
        after = page["pageInfo"]["endCursor"]


async def read_inbox_store(store: MessageStore, user: str) -> Inbox:
    """Every entry and its body, straight from the store, then the counter."""
    user_id = UserId(user)
    entries: list[Seen] = []
    before = None
    while True:
        page = await store.list_inbox(user_id, limit=PAGE_SIZE, before=before, unread_only=False)
        bodies = await store.get_messages([entry.id for entry in page.entries])
        entries += [
            Seen(
                entry.id,
                entry.recipient_id,
                bodies[entry.id].body if entry.id in bodies else "<no message item>",
                entry.is_read,
                entry.sender_id,
            )
            for entry in page.entries
        ]
        if not page.has_next_page or not page.entries:
            break
        before = page.entries[-1].id
    count = await store.unread_count(user_id)
    return Inbox(
        user,
        count.count,
        tuple(entries),
        log=await read_log(store, user_id),
        version=count.version,
        conversations=await read_conversations_store(store, user),
    )


async def read_log(store: MessageStore, user_id: UserId) -> tuple[Logged, ...]:
    """The user's whole change log, 100 a page."""
    found: list[Logged] = []
    since = 0
    while True:
        batch = await store.changes(user_id, since=since, limit=PAGE_SIZE, now=utc_now())
        found += [logged(change) for change in batch.changes]
        since = batch.version
        if not batch.has_more:
            return tuple(found)


def logged(change: InboxChange) -> Logged:
    payload = change.payload
    if isinstance(payload, MessageReceivedChange):
        return Logged(change.version, change.count, received=payload.message_id)
    if isinstance(payload, MessagesReadChange):
        return Logged(
            change.version,
            change.count,
            read=payload.message_ids,
            horizon=payload.is_horizon,
            with_user=payload.with_user_id,
        )
    if isinstance(payload, MessagesUnreadChange):
        return Logged(change.version, change.count, unread=payload.message_ids)
    if isinstance(payload, MessageDeletedChange):
        return Logged(change.version, change.count, deleted=payload.message_id)
    raise TypeError(f"a change the checker does not know: {payload!r}")
