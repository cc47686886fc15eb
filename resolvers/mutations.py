from __future__ import annotations

import strawberry

from resolvers.arguments import given
from schema.context import Info
from schema.types import MarkReadPayload, Message, SendMessageInput, UnreadCount
from services.domain import MarkReadResult


async def send_message(info: Info, input: SendMessageInput) -> Message:
    app, sender = info.context.app, info.context.viewer
    # Counted before anything is stored or queued: a refused send writes nothing. Retries with
    # the same clientMessageId count too: they cost the same work.
    await app.send_limiter.admit(sender)
    sent = await app.inbox.send_message(
        sender, input.recipient_id, input.body, given(input.client_message_id)
    )
    return Message.unread(sent)


async def mark_read(info: Info, ids: list[strawberry.ID]) -> MarkReadPayload:
    result = await info.context.app.inbox.mark_read(info.context.viewer, ids)
    return _payload(result)


async def mark_all_read(info: Info) -> MarkReadPayload:
    result = await info.context.app.inbox.mark_all_read(info.context.viewer)
    return _payload(result)


def _payload(result: MarkReadResult) -> MarkReadPayload:
    return MarkReadPayload(
        messages=[Message.from_entry(entry) for entry in result.entries],
        unread_count=result.unread_count,
        versioned_unread_count=UnreadCount.from_domain(result.counter),
    )
