"""The versioned unread count as a query; the subscription is in resolvers/subscriptions.py."""

from __future__ import annotations

from schema.context import Info
from schema.types import UnreadCount


async def versioned_unread_count(info: Info) -> UnreadCount:
    counter = await info.context.app.inbox.unread_counter(info.context.viewer)
    return UnreadCount.from_domain(counter)
