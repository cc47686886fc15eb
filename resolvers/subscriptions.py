from __future__ import annotations

from collections.abc import AsyncIterator

from resolvers.context import Context
from services.change_log import LiveChange
from services.domain import Message, ReadReceipt, Typing, UnreadCount


def unread_count(context: Context) -> AsyncIterator[int]:
    return context.app.inbox.watch_unread_count(context.viewer)


def versioned_unread_count(context: Context) -> AsyncIterator[UnreadCount]:
    return context.app.inbox.watch_unread_counter(context.viewer)


def message_received(context: Context) -> AsyncIterator[Message]:
    return context.app.inbox.watch_messages(context.viewer)


def typing(context: Context) -> AsyncIterator[Typing]:
    return context.app.presence.watch_typing(context.viewer)


def read_receipts(context: Context) -> AsyncIterator[ReadReceipt]:
    return context.app.presence.watch_receipts(context.viewer)


def inbox_events(context: Context, since_version: int | None) -> AsyncIterator[LiveChange]:
    return context.app.sync.watch(context.viewer, since_version)
