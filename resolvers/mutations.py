from __future__ import annotations

from collections.abc import Sequence

from resolvers.context import Context
from resolvers.queries import forget_unread_counter
from services.domain import MarkReadResult, Message


async def send_message(
    context: Context, recipient_id: str, body: str, client_message_id: str | None
) -> Message:
    return await context.app.sending.send_message(
        context.viewer, recipient_id, body, client_message_id
    )


async def mark_read(context: Context, ids: Sequence[str]) -> MarkReadResult:
    try:
        return await context.app.read_marks.mark_read(context.viewer, ids)
    finally:
        forget_unread_counter(context)


async def mark_all_read(context: Context) -> MarkReadResult:
    try:
        return await context.app.read_marks.mark_all_read(context.viewer)
    finally:
        forget_unread_counter(context)


async def mark_unread(context: Context, ids: Sequence[str]) -> MarkReadResult:
    try:
        return await context.app.read_marks.mark_unread(context.viewer, ids)
    finally:
        forget_unread_counter(context)


async def mark_conversation_read(context: Context, with_user_id: str) -> MarkReadResult:
    try:
        return await context.app.read_marks.mark_conversation_read(context.viewer, with_user_id)
    finally:
        forget_unread_counter(context)


async def delete_message(context: Context, message_id: str) -> bool:
    try:
        return await context.app.deletion.delete_message(context.viewer, message_id)
    finally:
        # A note to self changes the caller's own count.
        forget_unread_counter(context)


async def set_typing(context: Context, with_user_id: str) -> bool:
    return await context.app.presence.set_typing(context.viewer, with_user_id)
