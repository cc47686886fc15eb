"""Typing indicators and read receipts on the GraphQL side: their types and root fields
(schema/root.py lists them). Both are live pushes between the two participants of a
conversation; nothing about them is stored."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import strawberry

from resolvers import mutations, subscriptions
from schema.info import Info
from services.domain import ReadReceipt as DomainReadReceipt
from services.domain import Typing


@strawberry.type(
    description="Some of the caller's sent messages, just read by their recipient. Only ever "
    "the caller's own messages; a live push, not a record: the `conversation` view shows "
    "`isRead`/`readAt`."
)
class ReadReceipt:
    reader_id: strawberry.ID
    conversation_id: strawberry.ID
    message_ids: list[strawberry.ID] = strawberry.field(
        description="The ids this read flipped, newest first: at most the 100 newest."
    )
    up_to: strawberry.ID = strawberry.field(description="The newest id the read covered.")
    read_at: datetime

    @classmethod
    def from_domain(cls, receipt: DomainReadReceipt) -> ReadReceipt:
        return cls(
            reader_id=strawberry.ID(receipt.reader_id),
            conversation_id=strawberry.ID(receipt.conversation_id),
            message_ids=[strawberry.ID(i) for i in receipt.message_ids],
            up_to=strawberry.ID(receipt.up_to),
            read_at=receipt.read_at,
        )


@strawberry.type(description="`fromUserId` is typing to the caller, in `conversationId`.")
class TypingEvent:
    from_user_id: strawberry.ID
    conversation_id: strawberry.ID

    @classmethod
    def from_domain(cls, typing: Typing) -> TypingEvent:
        return cls(
            from_user_id=strawberry.ID(typing.from_user_id),
            conversation_id=strawberry.ID(typing.conversation_id),
        )


async def set_typing(info: Info, with_user_id: strawberry.ID) -> bool:
    return await mutations.set_typing(info.context, with_user_id)


async def watch_typing(info: Info) -> AsyncGenerator[TypingEvent, None]:
    async for typing in subscriptions.typing(info.context):
        yield TypingEvent.from_domain(typing)


async def watch_read_receipts(info: Info) -> AsyncGenerator[ReadReceipt, None]:
    async for receipt in subscriptions.read_receipts(info.context):
        yield ReadReceipt.from_domain(receipt)
