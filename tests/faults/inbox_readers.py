"""Reading a whole inbox for `tests.faults.checker`: through the GraphQL API (what clients see)
or straight from the store (when no API process runs). Call them once the system is quiet."""

from __future__ import annotations

from typing import Any

import httpx

from services.change_log import MessageReceivedChange, MessagesReadChange
from services.domain import UserId, utc_now
from services.ports import MessageStore
from tests.faults.checker import Inbox, Logged, Seen

PAGE_SIZE = 100
INBOX_PAGE = (
    "query($after: String) { unreadCount messages(first: 100, after: $after) "
    "{ edges { node { id recipientId body isRead } } pageInfo { hasNextPage endCursor } } }"
)


async def read_inbox_graphql(http: httpx.AsyncClient, user: str, token: str) -> Inbox:
    """Every entry, 100 a page, through POST /graphql; the count read with the first page."""
    entries: list[Seen] = []
    after: str | None = None
    count: int | None = None
    while True:
        response = await http.post(
            "/graphql",
            json={"query": INBOX_PAGE, "variables": {"after": after}},
            headers={"Authorization": f"Bearer {token}"},
        )
        body: dict[str, Any] = response.json()
        assert response.status_code == 200 and "errors" not in body, body
        data = body["data"]
        count = data["unreadCount"] if count is None else count
        page = data["messages"]
        entries += [
            Seen(node["id"], node["recipientId"], node["body"], node["isRead"])
            for node in (edge["node"] for edge in page["edges"])
        ]
        if not page["pageInfo"]["hasNextPage"]:
            return Inbox(user, count, tuple(entries))
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
            )
            for entry in page.entries
        ]
        if not page.has_next_page or not page.entries:
            break
        before = page.entries[-1].id
    count = await store.unread_count(user_id)
    return Inbox(user, count.count, tuple(entries), await read_log(store, user_id), count.version)


async def read_log(store: MessageStore, user_id: UserId) -> tuple[Logged, ...]:
    """The user's whole change log, 100 a page."""
    found: list[Logged] = []
    since = 0
    while True:
        batch = await store.changes(user_id, since=since, limit=PAGE_SIZE, now=utc_now())
        for change in batch.changes:
            payload = change.payload
            found.append(
                Logged(
                    change.version,
                    change.count,
                    payload.message_id if isinstance(payload, MessageReceivedChange) else None,
                    payload.message_ids if isinstance(payload, MessagesReadChange) else (),
                )
            )
        since = batch.version
        if not batch.has_more:
            return tuple(found)
